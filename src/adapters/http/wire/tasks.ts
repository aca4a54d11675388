import { z } from '@hono/zod-openapi';
import { MAX_PRIORITY, MIN_PRIORITY, RERANK_ROW, TASK_STATUSES, type Task } from '../../../domain/index.js';
import { MODEL_ID_MAX } from './common.js';
import { CacheField, chunkFields, ChunkSchema, LongTextFields, TruncatedFields, truncatedFields, UsageSchema } from './embeddings.js';

export const TaskRequestSchema = z
  .object({
    input: z
      .union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' })
      .openapi({ description: 'One text, or a list of texts to embed in order.', example: 'Hello world' }),
    model: z
      .string()
      .min(1)
      .max(MODEL_ID_MAX)
      .optional()
      .openapi({ description: 'A model id from GET /v1/models; the default model when omitted.' }),
    priority: z
      .number()
      .int()
      .min(MIN_PRIORITY)
      .max(MAX_PRIORITY)
      .optional()
      .openapi({ description: 'Higher is served first among waiting tasks of the same model.', example: 0 }),
    ...LongTextFields,
    ...CacheField,
  })
  .openapi('TaskRequest');

const EmbeddingSchema = z.object({
  object: z.literal('embedding'),
  index: z.number().int(),
  embedding: z.array(z.number()),
  ...TruncatedFields,
  chunks: z.array(ChunkSchema).optional(),
});

/** The fields every view of a task has (`taskFields`). */
export const TaskFieldsSchema = z.object({
  id: z.string(),
  model: z.string(),
  status: z.enum(TASK_STATUSES),
  priority: z.number().int(),
  input_count: z.number().int(),
  attempts: z.number().int(),
  created_at: z.string().openapi({ format: 'date-time' }),
  started_at: z.string().nullable().openapi({ format: 'date-time' }),
  finished_at: z.string().nullable().openapi({ format: 'date-time' }),
  error: z.string().nullable().openapi({ description: 'Why the task failed, expired or was cancelled; null otherwise.' }),
});

const RerankScoreSchema = z.object({
  object: z.literal('rerank_score'),
  index: z.number().int().openapi({ description: 'The document’s position in the request.' }),
  relevance_score: z.number(),
  logit: z.number().openapi({ description: 'What the score came from (what raw_scores gives).' }),
});

export const TaskSchema = TaskFieldsSchema.extend({
  object: z.enum(['embedding.task', 'rerank.task']).openapi({ description: '`rerank.task` for the tasks the rerank routes run.' }),
  result: z
    .union([
      z.object({ object: z.literal('list'), data: z.array(EmbeddingSchema), dimensions: z.number().int(), usage: UsageSchema }),
      z.object({ object: z.literal('list'), data: z.array(RerankScoreSchema), usage: UsageSchema }),
    ])
    .nullable()
    .openapi({ description: 'The embeddings (or a rerank task’s scores, one per document), in input order; null until status is succeeded.' }),
}).openapi('Task');

export const AcceptedTaskSchema = TaskSchema.extend({
  live_workers: z
    .number()
    .int()
    .nullable()
    .openapi({ description: 'Workers serving the model when the task was queued; null when unknown.' }),
  notice: z.string().optional().openapi({ description: 'Present when no worker serves the model: the task waits.' }),
}).openapi('AcceptedTask');

export const WaitQuerySchema = z.object({
  wait: z.coerce
    .number()
    .min(0)
    .max(60)
    .optional()
    .openapi({
      param: { name: 'wait', in: 'query' },
      description: 'Seconds to hold the request until the task finishes (a long poll), at most 60.',
      example: 10,
    }),
});

/** What every view of a task shows: what it is and where it stands, never its inputs or vectors. */
export function taskFields(task: Task) {
  return {
    id: task.id,
    model: task.model,
    status: task.status,
    priority: task.priority,
    input_count: task.inputCount,
    attempts: task.attempts,
    created_at: task.createdAt.toISOString(),
    started_at: task.startedAt?.toISOString() ?? null,
    finished_at: task.finishedAt?.toISOString() ?? null,
    error: task.error ?? null,
  };
}

export function serializeTask(task: Task): z.infer<typeof TaskSchema> {
  const result = task.result;
  if (task.rerank) {
    return {
      object: 'rerank.task',
      ...taskFields(task),
      result: result
        ? {
            object: 'list',
            data: result.vectors.map((row, index) => ({ object: 'rerank_score', index, relevance_score: row[RERANK_ROW.score]!, logit: row[RERANK_ROW.logit]! })),
            usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
          }
        : null,
    };
  }
  return {
    object: 'embedding.task' as const,
    ...taskFields(task),
    result: result
      ? {
          object: 'list' as const,
          data: result.vectors.map((vector, index) => ({
            object: 'embedding' as const,
            index,
            embedding: Array.from(vector),
            ...truncatedFields(result.droppedTokens?.[index]),
            ...chunkFields(result.chunks?.[index], (v) => Array.from(v)),
          })),
          dimensions: result.dimensions,
          usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.totalTokens },
        }
      : null,
  };
}

