import { shorten, type Allowance, type EmbeddingRequest, type Task, type TextChunk } from '../../domain/index.js';
import type { RequestCheck } from './request-check.js';
import type { SyncTasks } from '../tasks/sync-tasks.js';

export interface CreateEmbeddingsRequest extends EmbeddingRequest {
  /** Shorten every vector to this size; only for models that declare it. */
  readonly dimensions?: number;
}

export interface CreatedEmbeddings {
  readonly task: Task;
  readonly vectors: readonly Float32Array[];
  /** Each input's windows (`long_text: chunks`), shortened as the vectors are. */
  readonly chunks?: readonly (readonly TextChunk[])[];
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}

/**
 * OpenAI's `POST /v1/embeddings`: the request checked, then run as a task
 * whose caller is held until it ends (`SyncTasks`), its vectors shortened
 * to `dimensions` when asked.
 */
export class CreateEmbeddings {
  constructor(
    private readonly check: RequestCheck,
    private readonly tasks: SyncTasks,
  ) {}

  async execute(request: CreateEmbeddingsRequest, signal?: AbortSignal): Promise<CreatedEmbeddings> {
    // Checked first, so that a bad request is refused before a model without a worker is.
    const { model, ...checked } = await this.check.execute(request);
    const { task, result, tokens } = await this.tasks.run({ ...request, ...checked }, model.id, signal);
    const dimensions = request.dimensions;
    const fit = (v: Float32Array) => (dimensions === undefined ? v : shorten(v, dimensions, request.normalize !== false));
    const chunks = result.chunks?.map((list) => list.map((chunk) => ({ ...chunk, vector: fit(chunk.vector) })));
    return { task, vectors: result.vectors.map(fit), tokens, ...(chunks && { chunks }) };
  }
}
