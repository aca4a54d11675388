import type { ModelDescriptor, ModelInfo, ModelSpec } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';

/**
 * The configured models, with what this process learnt by loading them.
 */
export class MemoryModelCatalog implements ModelCatalog {
  private readonly loaded = new Map<string, ModelInfo>();

  /**
   * @param loadsModels false in a process that loads no models (the API):
   *   then `loaded` is left unknown rather than reported false.
   */
  constructor(
    private readonly specs: readonly ModelSpec[],
    readonly defaultModelId: string,
    private readonly loadsModels = true,
  ) {}

  /** Records that this process now serves the model. */
  markLoaded(info: ModelInfo): void {
    this.loaded.set(info.id, info);
  }

  async list(): Promise<readonly ModelDescriptor[]> {
    return this.specs.map((spec) => this.describe(spec));
  }

  async find(id: string): Promise<ModelDescriptor | undefined> {
    const spec = this.specs.find((s) => s.id === id);
    return spec && this.describe(spec);
  }

  private describe(spec: ModelSpec): ModelDescriptor {
    const info = this.loaded.get(spec.id);
    if (!info) return this.loadsModels ? { ...spec, loaded: false } : { ...spec };
    return {
      ...spec,
      dimensions: info.dimensions,
      maxTokens: info.maxTokens,
      pooling: info.pooling,
      normalize: info.normalize,
      loaded: true,
    };
  }
}
