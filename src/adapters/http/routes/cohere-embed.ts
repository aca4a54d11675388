import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { InvalidParameterError, type TextTruncation } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { answeredWithEmbeddings, noCache } from './answered.js';
import { CohereEmbedFloatsResponseSchema, CohereEmbedRequestSchema, CohereEmbedResponseSchema, embeddingsByType } from '../wire/cohere-embed.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { cohereErrors } from '../wire/errors.js';

const embedV2 = createRoute({
  method: 'post',
  path: '/v2/embed',
  security: NEEDS_API_KEY,
  tags: ['Cohere-compatible'],
  summary: 'Embeddings in Cohere’s v2 shape: every form asked for, a prompt by input type',
  description:
    'What `CohereClientV2.embed` sends and reads. Travels the same path as POST /v1/embeddings (queue, worker, store) and gives the same vectors. Errors are Cohere’s `{ message }`.',
  request: { body: { required: true, content: { 'application/json': { schema: CohereEmbedRequestSchema } } } },
  responses: {
    200: { description: 'The embeddings, by type', content: { 'application/json': { schema: CohereEmbedResponseSchema } } },
    ...cohereErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

const embedV1 = createRoute({
  method: 'post',
  path: '/v1/embed',
  security: NEEDS_API_KEY,
  tags: ['Cohere-compatible'],
  summary: 'Embeddings in Cohere’s v1 shape (what `CohereClient.embed`, and LangChain’s CohereEmbeddings by default, call)',
  description: 'As POST /v2/embed; without `embedding_types` the answer is v1’s plain list of float vectors (`embeddings_floats`).',
  request: { body: { required: true, content: { 'application/json': { schema: CohereEmbedRequestSchema } } } },
  responses: {
    200: { description: 'The embeddings', content: { 'application/json': { schema: z.union([CohereEmbedResponseSchema, CohereEmbedFloatsResponseSchema]) } } },
    ...cohereErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

/** Cohere's `truncate`: where a text too long for the model is cut, or (`NONE`) that it is refused. */
const TRUNCATION: Record<'NONE' | 'START' | 'END', TextTruncation> = { NONE: { truncate: false }, START: { direction: 'left' }, END: { direction: 'right' } };

type CohereEmbedRequest = z.infer<typeof CohereEmbedRequestSchema>;

/** Cohere's `POST /v2/embed` and `POST /v1/embed`, onto the same use case as OpenAI's route. */
export function cohereEmbedRoutes(useCases: HttpUseCases) {
  const app = new OpenAPIHono<HttpEnv>();
  const run = async (c: Context<HttpEnv>, body: CohereEmbedRequest) => {
    if ((body.images?.length ?? 0) > 0 || (body.inputs?.length ?? 0) > 0) {
      throw new InvalidParameterError(body.images?.length ? 'images' : 'inputs', 'This service embeds texts only: give them as `texts`.');
    }
    const caller = c.get('principal');
    const truncation = { ...TRUNCATION[body.truncate ?? 'END'], ...(body.max_tokens !== undefined && { maxTokens: body.max_tokens }) };
    const answer = await useCases.createEmbeddings.execute(
      {
        requestId: c.get('requestId'),
        inputs: body.texts,
        model: body.model,
        truncation,
        ...(caller && { caller }),
        ...(body.output_dimension !== undefined && { dimensions: body.output_dimension }),
        ...(body.input_type !== undefined && { prompt: { inputType: body.input_type } }),
        ...(noCache(c) && { cache: false as const }),
      },
      c.req.raw.signal,
    );
    answeredWithEmbeddings(c, answer);
    const meta = { api_version: { version: '2' as const }, billed_units: { input_tokens: answer.promptTokens } };
    // Cohere's answer always has an id: the task's, or the request's when the cache answered it all.
    return { id: answer.task?.id ?? c.get('requestId'), vectors: answer.vectors, texts: body.texts, meta };
  };

  app.openapi(embedV2, async (c) => {
    const body = c.req.valid('json');
    const { vectors, ...answer } = await run(c, body);
    return c.json({ ...answer, embeddings: embeddingsByType(vectors, body.embedding_types ?? ['float']), response_type: 'embeddings_by_type' as const }, 200);
  });
  app.openapi(embedV1, async (c) => {
    const body = c.req.valid('json');
    const { vectors, meta, ...answer } = await run(c, body);
    const v1Meta = { ...meta, api_version: { version: '1' as const } };
    if (body.embedding_types === undefined) return c.json({ ...answer, meta: v1Meta, embeddings: vectors.map((v) => Array.from(v)), response_type: 'embeddings_floats' as const }, 200);
    return c.json({ ...answer, meta: v1Meta, embeddings: embeddingsByType(vectors, body.embedding_types), response_type: 'embeddings_by_type' as const }, 200);
  });
  return app;
}
