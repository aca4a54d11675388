import { estimateTokens, renumberInputs, shorten, type Allowance, type EmbeddingRequest, type EmbeddingsAnswer, type Task, type TextChunk } from '../../domain/index.js';
import type { CachedEmbedding } from '../../ports/embedding-cache.js';
import type { EnforceRateLimits } from '../access/enforce-rate-limits.js';
import type { RequestCheck } from './request-check.js';
import type { SyncTasks } from '../tasks/sync-tasks.js';
import type { VectorCache } from './vector-cache.js';

export interface CreateEmbeddingsRequest extends EmbeddingRequest {
  /** Shorten every vector to this size; only for models that declare it. */
  readonly dimensions?: number;
  /** false: neither served from the embedding cache nor stored in it (for callers who must get a freshly computed vector). */
  readonly cache?: false;
}


/**
 * OpenAI's `POST /v1/embeddings` (and the compatible routes): the request
 * checked, its texts looked up in the embedding cache, and those it does
 * not hold run as one task whose caller is held until it ends
 * (`SyncTasks`); their vectors are then stored for next time. A request the
 * cache answers whole touches neither the queue nor a worker. Vectors are
 * shortened to `dimensions` when asked. A cached text costs the caller's
 * allowance what it would cost embedded: usage is the same either way.
 */
export class CreateEmbeddings {
  constructor(
    private readonly check: RequestCheck,
    private readonly tasks: SyncTasks,
    private readonly cache: VectorCache | undefined,
    private readonly rateLimits: Pick<EnforceRateLimits, 'admitTokens'>,
  ) {}

  async execute(request: CreateEmbeddingsRequest, signal?: AbortSignal): Promise<EmbeddingsAnswer> {
    // Checked first, so that a bad request is refused before a model without a worker is.
    const { model, ...checked } = await this.check.execute(request);
    const passed = { ...request, ...checked };
    const scope = this.cache && request.cache !== false ? await this.cache.scope(model, passed) : undefined;
    const found = scope ? await this.cache!.lookup(scope, passed.inputs) : [];
    const misses = passed.inputs.flatMap((input, i) => (found[i] ? [] : [{ input, i }]));
    const hits = passed.inputs.length - misses.length;

    let tokens = hits > 0 ? await this.rateLimits.admitTokens(request.caller, estimateTokens(passed.inputs.filter((_, i) => found[i]))) : undefined;
    const entries: (CachedEmbedding | undefined)[] = [...found];
    let task: Task | undefined;
    if (misses.length > 0) {
      const ran = await this.tasks.run({ ...passed, inputs: misses.map((m) => m.input) }, model.id, signal).catch((error: unknown) => {
        throw hits > 0 ? renumberInputs(error, misses.map((m) => m.i), passed.inputs.length) : error;
      });
      task = ran.task;
      tokens = ran.tokens ?? tokens;
      const fresh = misses.map((_, j) => ({
        vector: ran.result.vectors[j]!,
        tokens: ran.result.tokenCounts?.[j] ?? 0,
        droppedTokens: ran.result.droppedTokens?.[j] ?? 0,
      }));
      misses.forEach((miss, j) => (entries[miss.i] = fresh[j]));
      // Without each text's count the usage of a later hit would be wrong: such a result is not kept.
      if (scope && ran.result.tokenCounts) this.cache!.store(scope, misses.map((m) => m.input), fresh);
      if (ran.result.chunks) return { ...this.answer(model.id, request, entries, hits, tokens, task), chunks: this.fitChunks(request, ran.result.chunks) };
    }
    return this.answer(model.id, request, entries, hits, tokens, task);
  }

  private answer(model: string, request: CreateEmbeddingsRequest, entries: readonly (CachedEmbedding | undefined)[], cached: number, tokens: Allowance | undefined, task?: Task): EmbeddingsAnswer {
    const all = entries.map((entry) => entry!);
    const fit = this.fitter(request);
    const dropped = all.map((entry) => entry.droppedTokens);
    return {
      model,
      ...(task && { task }),
      vectors: all.map((entry) => fit(entry.vector)),
      // A task's own total, when it ran them all: it counts a long text's windows as the model read them.
      promptTokens: task && cached === 0 ? task.result!.usage.promptTokens : all.reduce((sum, entry) => sum + entry.tokens, 0),
      ...(dropped.some((n) => n > 0) && { droppedTokens: dropped }),
      cached,
      tokens,
    };
  }

  private fitChunks(request: CreateEmbeddingsRequest, chunks: readonly (readonly TextChunk[])[]): readonly (readonly TextChunk[])[] {
    const fit = this.fitter(request);
    return chunks.map((list) => list.map((chunk) => ({ ...chunk, vector: fit(chunk.vector) })));
  }

  private fitter(request: CreateEmbeddingsRequest): (v: Float32Array) => Float32Array {
    const dimensions = request.dimensions;
    return (v) => (dimensions === undefined ? v : shorten(v, dimensions, request.normalize !== false));
  }
}
