import type { ModelInfo, RerankerInfo } from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import type { HealthCheck } from '../../ports/health-check.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { ModelLoader } from '../../ports/model-loader.js';
import type { RerankerModel } from '../../ports/reranker-model.js';

type LoadState = { status: 'loading' } | { status: 'failed'; reason: string } | { status: 'loaded' };

/**
 * The models a worker process serves. They load all at once, in the
 * background, so the process answers liveness probes meanwhile; each has a
 * readiness check that passes once it has loaded. A model that fails to load
 * is reported, and the others are served.
 */
export class ModelHost {
  private readonly states: Map<string, LoadState>;
  private readonly embedders = new Map<string, EmbeddingModel>();
  private readonly crossEncoders = new Map<string, RerankerModel>();
  private loading: Promise<void> | undefined;
  private closing = false;

  constructor(
    modelIds: readonly string[],
    private readonly loader: ModelLoader,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {
    this.states = new Map(modelIds.map((id) => [id, { status: 'loading' }]));
  }

  /** Starts loading (once); resolves when every model has loaded or failed. Never rejects. */
  load(): Promise<void> {
    this.loading ??= Promise.all([...this.states.keys()].map((id) => this.loadOne(id))).then(() => undefined);
    return this.loading;
  }

  /** The embedding models loaded so far, by id: a live view that fills as they load. */
  get models(): ReadonlyMap<string, EmbeddingModel> {
    return this.embedders;
  }

  /** The rerankers loaded so far, by id: a live view that fills as they load. */
  get rerankers(): ReadonlyMap<string, RerankerModel> {
    return this.crossEncoders;
  }

  /** What a loaded model reports about itself; undefined until it has loaded. */
  info(modelId: string): ModelInfo | RerankerInfo | undefined {
    return this.embedders.get(modelId)?.info ?? this.crossEncoders.get(modelId)?.info;
  }

  healthChecks(): HealthCheck[] {
    return [...this.states.keys()].map((id) => ({
      name: `model:${id}`,
      check: async () => {
        const state = this.states.get(id);
        if (state?.status === 'loaded') return;
        throw new Error(state?.status === 'failed' ? `failed to load: ${state.reason}` : 'loading');
      },
    }));
  }

  /** Waits for loading to end, then frees every model. A model that finishes loading after this is freed at once. */
  async close(): Promise<void> {
    this.closing = true;
    await this.loading;
    await Promise.all([...this.embedders.values(), ...this.crossEncoders.values()].map((model) => model.close()));
  }

  private async loadOne(id: string): Promise<void> {
    const started = performance.now();
    try {
      const loaded = await this.loader.load(id);
      if (this.closing) {
        await loaded.model.close();
        return;
      }
      if (loaded.kind === 'embedding') this.embedders.set(id, loaded.model);
      else this.crossEncoders.set(id, loaded.model);
      this.states.set(id, { status: 'loaded' });
      const seconds = (performance.now() - started) / 1000;
      this.metrics.modelLoaded(id, seconds);
      this.logger.info('model loaded', { model: id, kind: loaded.kind, engine: loaded.model.info.engine, seconds: Math.round(seconds * 1000) / 1000 });
    } catch (error) {
      this.states.set(id, { status: 'failed', reason: (error as Error).message });
      this.logger.error('model failed to load', { model: id, err: error });
    }
  }
}
