import { z } from '@hono/zod-openapi';
import { MAX_PRIORITY, MIN_PRIORITY, TASK_STATUSES } from '../../domain/index.js';

/*
 * The wire format, in one place: these schemas validate requests and generate
 * /openapi.json. Names are snake_case, as OpenAI's API and most embedding
 * services spell them.
 */

/** The OpenAPI name of the bearer scheme that /v1 routes declare (app.ts registers it). */
export const API_KEY_SCHEME = 'apiKey';
/** What a /v1 route declares: it needs an API key when the service has keys. */
export const NEEDS_API_KEY = [{ [API_KEY_SCHEME]: [] }];

/** Longer than any model id the configuration allows to be useful; keeps an absurd one out of error messages. */
const MODEL_ID_MAX = 256;

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
  })
  .openapi('TaskRequest');

const EmbeddingSchema = z.object({
  object: z.literal('embedding'),
  index: z.number().int(),
  embedding: z.array(z.number()),
});

const UsageSchema = z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() });

export const TaskSchema = z
  .object({
    id: z.string(),
    object: z.literal('embedding.task'),
    model: z.string(),
    status: z.enum(TASK_STATUSES),
    priority: z.number().int(),
    input_count: z.number().int(),
    attempts: z.number().int(),
    created_at: z.string().openapi({ format: 'date-time' }),
    started_at: z.string().nullable().openapi({ format: 'date-time' }),
    finished_at: z.string().nullable().openapi({ format: 'date-time' }),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'Why the task failed, expired or was cancelled; null otherwise.' }),
    result: z
      .object({
        object: z.literal('list'),
        data: z.array(EmbeddingSchema),
        dimensions: z.number().int(),
        usage: UsageSchema,
      })
      .nullable()
      .openapi({ description: 'The embeddings, in input order; null until status is succeeded.' }),
  })
  .openapi('Task');

export const AcceptedTaskSchema = TaskSchema.extend({
  live_workers: z
    .number()
    .int()
    .nullable()
    .openapi({ description: 'Workers serving the model when the task was queued; null when unknown.' }),
  notice: z.string().optional().openapi({ description: 'Present when no worker serves the model: the task waits.' }),
}).openapi('AcceptedTask');

export const TaskIdParamSchema = z.object({
  id: z.string().min(1).max(128).openapi({ param: { name: 'id', in: 'path' } }),
});

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

export const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    engine: z.enum(['onnx', 'use-lite']),
    description: z.string().nullable(),
    dimensions: z.number().int().nullable(),
    max_tokens: z.number().int().nullable(),
    pooling: z.enum(['mean', 'cls', 'max']).nullable(),
    normalized: z.boolean().nullable(),
    output_dimensions: z.array(z.number().int()).openapi({ description: 'Sizes `dimensions` may ask for.' }),
    loaded: z.boolean().nullable().openapi({ description: 'Whether this process has the model loaded; null in the API process, which loads none.' }),
    live_workers: z.number().int().nullable().openapi({ description: 'Workers serving the model now; null when unknown.' }),
    default: z.boolean(),
    created: z.number().int(),
    owned_by: z.string(),
  })
  .openapi('Model');

export const ModelListSchema = z
  .object({ object: z.literal('list'), data: z.array(ModelSchema) })
  .openapi('ModelList');

export const ModelIdParamSchema = z.object({
  id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' } }),
});

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ description: 'Stable, machine-readable error code.' }),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const LivenessSchema = z.object({ status: z.literal('alive') }).openapi('Liveness');

export const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.object({ status: z.enum(['ok', 'failing']), detail: z.string().optional() })),
  })
  .openapi('Readiness');

/** Problem responses a route can return, for the OpenAPI document. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: 'A problem document', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}

/* OpenAI-compatible embeddings: https://platform.openai.com/docs/api-reference/embeddings */

const TokenIds = z.array(z.number().int().min(0));

export const OpenAiEmbeddingRequestSchema = z
  .object({
    input: z
      .union([z.string(), z.array(z.string()), TokenIds, z.array(TokenIds)], {
        error: 'must be a string, an array of strings, an array of token ids, or an array of token-id arrays',
      })
      .openapi({ description: 'Text or token ids (of the model’s own vocabulary) to embed.', example: 'Hello world' }),
    model: z.string().min(1).max(MODEL_ID_MAX).optional().openapi({ description: 'A model id from GET /v1/models.' }),
    encoding_format: z
      .enum(['float', 'base64'])
      .optional()
      .openapi({ description: 'float (default) or base64 of little-endian float32, as OpenAI encodes it.' }),
    dimensions: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Shorten the vectors to this size; only for models that list it in output_dimensions.' }),
    user: z.string().optional().openapi({ description: 'Accepted and ignored.' }),
  })
  .openapi('EmbeddingRequest');

export const OpenAiEmbeddingResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string(),
    usage: UsageSchema,
  })
  .openapi('EmbeddingResponse');

export const OpenAiErrorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
    }),
  })
  .openapi('OpenAIError');

/** OpenAI-shaped error responses a route can return, for the OpenAPI document. */
export function openAiErrors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: 'An error, in OpenAI’s shape', content: { 'application/json': { schema: OpenAiErrorSchema } } },
    ]),
  );
}
