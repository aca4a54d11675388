import type { ModelDescriptor, Task } from '../../domain/index.js';

export function serializeTask(task: Task) {
  const result = task.result;
  return {
    id: task.id,
    object: 'embedding.task' as const,
    model: task.model,
    status: task.status,
    priority: task.priority,
    input_count: task.inputCount,
    attempts: task.attempts,
    created_at: task.createdAt.toISOString(),
    started_at: task.startedAt?.toISOString() ?? null,
    finished_at: task.finishedAt?.toISOString() ?? null,
    error: task.error ?? null,
    result: result
      ? {
          object: 'list' as const,
          data: result.vectors.map((vector, index) => ({
            object: 'embedding' as const,
            index,
            embedding: Array.from(vector),
          })),
          dimensions: result.dimensions,
          usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
        }
      : null,
  };
}

/** A time as OpenAI's objects give it: whole Unix seconds. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** OpenAI's model objects carry a creation time; this service's models are as old as the process. */
const CREATED = Math.floor(Date.now() / 1000);

/** The body of `POST /v1/embeddings`' answer: for the route, and for each line a batch runs. */
export function embeddingsBody(model: string, vectors: readonly Float32Array[], tokens: number, encoding: 'float' | 'base64' | undefined) {
  return {
    object: 'list' as const,
    data: vectors.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding: encoding === 'base64' ? base64Vector(vector) : Array.from(vector),
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"` returns them. */
export function base64Vector(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

export function serializeModel(model: ModelDescriptor, defaultModelId: string) {
  return {
    id: model.id,
    object: 'model' as const,
    engine: model.engine,
    description: model.description ?? null,
    dimensions: model.dimensions ?? null,
    max_tokens: model.maxTokens ?? null,
    pooling: model.pooling ?? null,
    normalized: model.normalize ?? null,
    output_dimensions: [...(model.outputDimensions ?? [])],
    loaded: model.loaded ?? null,
    live_workers: model.liveWorkers ?? null,
    default: model.id === defaultModelId,
    created: CREATED,
    owned_by: 'embedding-service',
  };
}
