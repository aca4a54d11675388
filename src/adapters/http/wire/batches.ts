import { z } from '@hono/zod-openapi';
import { BATCH_ENDPOINTS, BATCH_STATUSES, BATCH_WINDOW, type Batch } from '../../../domain/index.js';
import { listSchema, pageQuery, unixSeconds } from './common.js';

/* OpenAI's Batch API: https://platform.openai.com/docs/api-reference/batch */

/** OpenAI's bounds on metadata: 16 pairs, keys of 64 characters, values of 512. */
const MetadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, { message: 'at most 16 keys' });

export const CreateBatchSchema = z
  .object({
    input_file_id: z.string().min(1).max(128).openapi({ description: 'A file uploaded with purpose `batch`.' }),
    endpoint: z
      .string()
      .min(1)
      .openapi({ description: `The endpoint every line calls: ${BATCH_ENDPOINTS.map((e) => `\`${e}\``).join(' or ')}.`, example: BATCH_ENDPOINTS[0] }),
    completion_window: z.string().min(1).openapi({ description: `\`${BATCH_WINDOW}\`, the one window offered.`, example: BATCH_WINDOW }),
    metadata: MetadataSchema.nullable().optional().openapi({ description: 'Up to 16 string pairs, kept with the batch.' }),
  })
  .openapi('BatchRequest');

const nullableSeconds = z.number().int().nullable();

export const BatchSchema = z
  .object({
    id: z.string(),
    object: z.literal('batch'),
    endpoint: z.string(),
    errors: z
      .object({
        object: z.literal('list'),
        data: z.array(z.object({ code: z.string(), message: z.string(), param: z.string().nullable(), line: z.number().int().nullable() })),
      })
      .nullable(),
    input_file_id: z.string(),
    completion_window: z.string(),
    status: z.enum(BATCH_STATUSES),
    output_file_id: z.string().nullable(),
    error_file_id: z.string().nullable(),
    created_at: z.number().int(),
    in_progress_at: nullableSeconds,
    expires_at: nullableSeconds,
    finalizing_at: nullableSeconds,
    completed_at: nullableSeconds,
    failed_at: nullableSeconds,
    expired_at: nullableSeconds,
    cancelling_at: nullableSeconds,
    cancelled_at: nullableSeconds,
    request_counts: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() }),
    metadata: z.record(z.string(), z.string()).nullable(),
    usage: z.object({
      input_tokens: z.number().int(),
      input_tokens_details: z.object({ cached_tokens: z.number().int() }),
      output_tokens: z.number().int(),
      output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
      total_tokens: z.number().int(),
    }),
  })
  .openapi('Batch');

export const BatchListSchema = listSchema(BatchSchema, 'BatchList');
export const BatchListQuerySchema = pageQuery(100, 20);

const seconds = (date: Date | undefined) => (date === undefined ? null : unixSeconds(date));

/** OpenAI's batch object. Times are Unix seconds, as OpenAI's are. */
export function serializeBatch(batch: Batch) {
  return {
    id: batch.id,
    object: 'batch' as const,
    endpoint: batch.endpoint,
    errors: batch.errors ? { object: 'list' as const, data: batch.errors.map((e) => ({ code: e.code, message: e.message, param: e.param ?? null, line: e.line ?? null })) } : null,
    input_file_id: batch.inputFileId,
    completion_window: batch.completionWindow,
    status: batch.status,
    output_file_id: batch.outputFileId ?? null,
    error_file_id: batch.errorFileId ?? null,
    created_at: unixSeconds(batch.createdAt),
    in_progress_at: seconds(batch.inProgressAt),
    expires_at: seconds(batch.expiresAt),
    finalizing_at: seconds(batch.finalizingAt),
    completed_at: seconds(batch.completedAt),
    failed_at: seconds(batch.failedAt),
    expired_at: seconds(batch.expiredAt),
    cancelling_at: seconds(batch.cancellingAt),
    cancelled_at: seconds(batch.cancelledAt),
    request_counts: { ...batch.requestCounts },
    metadata: batch.metadata ?? null,
    usage: {
      input_tokens: batch.usageTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 0,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: batch.usageTokens,
    },
  };
}
