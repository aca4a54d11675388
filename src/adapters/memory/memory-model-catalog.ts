import type { ModelDescriptor, ModelInfo, ModelSpec, RerankerInfo } from '../../domain/index.js';
import type { ModelCatalog } from '../../ports/model-catalog.js';

/**
 * The configured models, with what this process learnt by loading them.
 */
export class MemoryModelCatalog implements ModelCatalog {
  /**
   * @param loaded what a model this process has loaded reports about itself;
   *   absent in a process that loads no models (the API), where `loaded` is
   *   left unknown rather than reported false.
   */
  constructor(
    private readonly specs: readonly ModelSpec[],
    readonly defaultModelId: string,
    private readonly loaded?: (modelId: string) => ModelInfo | RerankerInfo | undefined,
  ) {}

  async list(): Promise<readonly ModelDescriptor[]> {
    return this.specs.map((spec) => this.describe(spec));
  }

  async find(id: string): Promise<ModelDescriptor | undefined> {
    const spec = this.specs.find((s) => s.id === id);
    return spec && this.describe(spec);
  }

  private describe(spec: ModelSpec): ModelDescriptor {
    if (!this.loaded) return { ...spec };
    const info = this.loaded(spec.id);
    if (!info) return { ...spec, loaded: false };
    if ('labels' in info) return { ...spec, maxTokens: info.maxTokens, labels: info.labels, loaded: true };
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
