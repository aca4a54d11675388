import type { ModelDescriptor, TextInput, TextTruncation } from '../../domain/index.js';
import type { CachedEmbedding, CacheScope, EmbeddingCache } from '../../ports/embedding-cache.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { ModelFingerprints } from '../../ports/model-fingerprints.js';

/** What of a checked request decides its vectors, besides its texts (which carry their prompt by now). */
export interface VectorOptions {
  readonly truncation?: TextTruncation;
  readonly normalize?: false;
}

/** A cache that is down fails every lookup: one warning per this long says so, the metrics count every one. */
const WARN_EVERY_MS = 10_000;

/**
 * The embedding cache as the API uses it: which requests may use it, under
 * what identity, and the rule that the cache never fails a request. A
 * lookup that fails or stalls (past half the store's command timeout) is a
 * miss for every text, a write that fails is forgotten; both are counted.
 *
 * Vectors are kept at the model's full size, so `dimensions` (a cut made
 * after the cache) shares entries. Not kept: answers with each window of a
 * long text (`long_text: chunks`), which are more than one vector.
 */
export class VectorCache {
  private readonly unfingerprinted = new Set<string>();
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly cache: EmbeddingCache,
    private readonly fingerprints: ModelFingerprints,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** The scope `options` on `model` look up and store under; undefined when they may not use the cache. */
  async scope(model: ModelDescriptor, options: VectorOptions): Promise<CacheScope | undefined> {
    if (options.truncation?.windows?.chunks) return undefined;
    const fingerprint = await this.fingerprints.of(model.id);
    if (fingerprint === undefined) {
      if (!this.unfingerprinted.has(model.id)) {
        this.unfingerprinted.add(model.id);
        this.logger.warn('no embedding cache for a model whose files this process cannot read (mount them to cache its vectors)', { model: model.id });
      }
      return undefined;
    }
    const identity = JSON.stringify({
      fingerprint,
      engine: model.engine,
      pooling: model.pooling ?? null,
      normalize: options.normalize === false ? false : (model.normalize ?? null),
      maxTokens: model.maxTokens ?? null,
      truncation: canonical(options.truncation),
    });
    return { model: model.id, identity };
  }

  /** The entries held for `inputs`, in order; all misses when the cache cannot answer. */
  async lookup(scope: CacheScope, inputs: readonly TextInput[]): Promise<readonly (CachedEmbedding | undefined)[]> {
    try {
      const found = await this.cache.get(scope, inputs);
      const hits = found.filter((entry) => entry !== undefined).length;
      this.metrics.cacheLookups(scope.model, hits, inputs.length - hits);
      return found;
    } catch (error) {
      this.metrics.cacheFailed('read');
      this.warn('embedding cache lookup failed; the texts are embedded', scope, error);
      return inputs.map(() => undefined);
    }
  }

  /** Stores fresh vectors in the background: the caller's answer never waits for it. */
  store(scope: CacheScope, inputs: readonly TextInput[], embeddings: readonly CachedEmbedding[]): void {
    if (inputs.length === 0) return;
    this.cache.put(scope, inputs, embeddings).then(
      (evicted) => {
        for (const [model, count] of evicted) this.metrics.cacheEvicted(model, count);
      },
      (error: unknown) => {
        this.metrics.cacheFailed('write');
        this.warn('embedding cache write failed', scope, error);
      },
    );
  }

  private warn(message: string, scope: CacheScope, error: unknown): void {
    const now = performance.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger.warn(message, { model: scope.model, err: error });
  }
}

/**
 * What of a truncation changes a vector, with the defaults spelled out, so
 * that routes that say the same thing differently (OpenAI's, which says
 * nothing, and TEI's or Cohere's explicit cut at the end) share entries.
 * A window's prompt length (where chunks lie) and the longest text taken
 * whole (a refusal, not a vector) change none.
 */
function canonical(truncation: TextTruncation | undefined) {
  const windows = truncation?.windows;
  return {
    direction: truncation?.direction ?? 'right',
    truncate: truncation?.truncate ?? true,
    maxTokens: truncation?.maxTokens ?? null,
    windows: windows ? { overlap: windows.overlap } : null,
  };
}
