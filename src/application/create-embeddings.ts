import {
  InferenceError,
  InvalidParameterError,
  ModelNotFoundError,
  shorten,
  TaskTimeoutError,
  ValidationError,
  type EmbeddingRequest,
  type Task,
} from '../domain/index.js';
import type { ModelCatalog } from '../ports/model-catalog.js';
import type { GetTaskStatus } from './get-task-status.js';
import type { SubmitEmbedding } from './submit-embedding.js';

export interface CreateEmbeddingsRequest extends EmbeddingRequest {
  /** Shorten every vector to this size; only for models that declare it. */
  readonly dimensions?: number;
}

export interface CreatedEmbeddings {
  readonly task: Task;
  readonly vectors: readonly Float32Array[];
}

/**
 * The synchronous path (OpenAI's `POST /v1/embeddings`): a task like any
 * other, through the queue and a worker, whose caller is held until it
 * finishes. Completion is announced, not polled. Past the timeout the caller
 * gets `TaskTimeoutError` and the task goes on.
 */
export class CreateEmbeddings {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly submit: SubmitEmbedding,
    private readonly status: GetTaskStatus,
    private readonly timeoutMs: number,
  ) {}

  async execute(request: CreateEmbeddingsRequest): Promise<CreatedEmbeddings> {
    if (request.dimensions !== undefined) await this.checkDimensions(request.model ?? this.catalog.defaultModelId, request.dimensions);
    const { task: submitted } = await this.submit.execute(request);
    const task = await this.status.execute(submitted.id, this.timeoutMs);
    if (task.status === 'failed') {
      const reason = task.error ?? 'The task failed.';
      throw task.failure === 'invalid_input' ? new ValidationError(reason, task.issues ?? [{ path: 'input', message: reason }]) : new InferenceError(reason);
    }
    if (task.status !== 'succeeded' || !task.result) throw new TaskTimeoutError(task.id, this.timeoutMs / 1000);
    const dimensions = request.dimensions;
    const vectors = dimensions === undefined ? task.result.vectors : task.result.vectors.map((v) => shorten(v, dimensions));
    return { task, vectors };
  }

  private async checkDimensions(modelId: string, dimensions: number): Promise<void> {
    const model = await this.catalog.find(modelId);
    if (!model) throw new ModelNotFoundError(modelId);
    const allowed = model.outputDimensions ?? [];
    if (!allowed.includes(dimensions)) {
      throw new InvalidParameterError(
        'dimensions',
        allowed.length === 0
          ? `Model '${modelId}' does not support shortening its embeddings; omit dimensions.`
          : `Model '${modelId}' supports dimensions ${allowed.join(', ')}; ${dimensions} is not one of them.`,
      );
    }
  }
}
