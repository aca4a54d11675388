import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { Batch } from '../../../domain/index.js';
import { unixSeconds } from '../serialize.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { parseOrThrow } from '../validation.js';

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

/** OpenAI's bounds on metadata: 16 pairs, keys of 64 characters, values of 512. */
const Metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, { message: 'at most 16 keys' });

const CreateBatch = z.object({
  input_file_id: z.string().min(1).max(128),
  endpoint: z.string().min(1),
  completion_window: z.string().min(1),
  metadata: Metadata.nullable().optional(),
});

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().min(1).max(128).optional(),
});

/**
 * OpenAI's Batch API (`/v1/batches`) over the Files API: a batch runs every
 * line of its input file on the bulk lane and writes an output and an error
 * file; it belongs to the key that created it.
 */
export function batchRoutes(useCases: Pick<HttpUseCases, 'batches'>) {
  const app = new OpenAPIHono<HttpEnv>();
  const batches = useCases.batches;

  app.post('/v1/batches', async (c) => {
    const body = parseOrThrow(CreateBatch, await c.req.json().catch(() => undefined));
    const batch = await batches.create(
      {
        inputFileId: body.input_file_id,
        endpoint: body.endpoint,
        completionWindow: body.completion_window,
        ...(body.metadata && { metadata: body.metadata }),
      },
      c.get('principal'),
    );
    return c.json(serializeBatch(batch), 200);
  });

  app.get('/v1/batches', async (c) => {
    const { limit, after } = parseOrThrow(ListQuery, c.req.query(), 'The query does not match the schema.', '(query)');
    // One more than asked tells whether there is more.
    const page = await batches.list(c.get('principal'), { limit: limit + 1, ...(after !== undefined && { after }) });
    const data = page.slice(0, limit).map(serializeBatch);
    return c.json({ object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > limit });
  });

  app.get('/v1/batches/:id', async (c) => c.json(serializeBatch(await batches.get(c.req.param('id'), c.get('principal')))));

  app.post('/v1/batches/:id/cancel', async (c) => c.json(serializeBatch(await batches.cancel(c.req.param('id'), c.get('principal')))));

  return app;
}
