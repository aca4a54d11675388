import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { BatchListQuerySchema, BatchListSchema, BatchSchema, CreateBatchSchema, serializeBatch } from '../wire/batches.js';
import { IdParamSchema, listPage, NEEDS_API_KEY } from '../wire/common.js';
import { openAiErrors } from '../wire/errors.js';

const create = createRoute({
  method: 'post',
  path: '/v1/batches',
  security: NEEDS_API_KEY,
  tags: ['Batches'],
  summary: 'Run every line of an uploaded file',
  description: 'Each line is an embeddings request; each answer goes to the output file, or to the error file for a line that failed.',
  request: { body: { required: true, content: { 'application/json': { schema: CreateBatchSchema } } } },
  responses: {
    200: { description: 'The batch, validating', content: { 'application/json': { schema: BatchSchema } } },
    ...openAiErrors(400, 401, 404, 413, 415, 422, 429, 503),
  },
});

const list = createRoute({
  method: 'get',
  path: '/v1/batches',
  security: NEEDS_API_KEY,
  tags: ['Batches'],
  summary: 'The caller’s batches, newest first',
  request: { query: BatchListQuerySchema },
  responses: {
    200: { description: 'A page of batches', content: { 'application/json': { schema: BatchListSchema } } },
    ...openAiErrors(401, 422, 429),
  },
});

const get = createRoute({
  method: 'get',
  path: '/v1/batches/{id}',
  security: NEEDS_API_KEY,
  tags: ['Batches'],
  summary: 'One batch, with its counts and files',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'The batch', content: { 'application/json': { schema: BatchSchema } } },
    ...openAiErrors(401, 404, 429),
  },
});

const cancel = createRoute({
  method: 'post',
  path: '/v1/batches/{id}/cancel',
  security: NEEDS_API_KEY,
  tags: ['Batches'],
  summary: 'Cancel a batch',
  description: 'The batch becomes `cancelling` until the lines already running finish, then `cancelled` with what it finished.',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'The batch, cancelling', content: { 'application/json': { schema: BatchSchema } } },
    ...openAiErrors(401, 404, 409, 429),
  },
});

/**
 * OpenAI's Batch API (`/v1/batches`) over the Files API: a batch runs every
 * line of its input file on the bulk lane and writes an output and an error
 * file; it belongs to the key that created it.
 */
export function batchRoutes(useCases: Pick<HttpUseCases, 'batches'>) {
  const app = new OpenAPIHono<HttpEnv>();
  const batches = useCases.batches;

  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
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

  app.openapi(list, async (c) => {
    const { limit, after } = c.req.valid('query');
    // One more than asked tells whether there is more.
    const page = await batches.list(c.get('principal'), { limit: limit + 1, ...(after !== undefined && { after }) });
    return c.json(listPage(page, limit, serializeBatch), 200);
  });

  app.openapi(get, async (c) => c.json(serializeBatch(await batches.get(c.req.valid('param').id, c.get('principal'))), 200));

  app.openapi(cancel, async (c) => c.json(serializeBatch(await batches.cancel(c.req.valid('param').id, c.get('principal'))), 200));

  return app;
}
