import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { EMBEDDINGS_ENDPOINT } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { answeredWithEmbeddings, noCache } from './answered.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { embeddingsBody, longTextChoice, OpenAiEmbeddingRequestSchema, OpenAiEmbeddingResponseSchema, toInputs } from '../wire/embeddings.js';
import { openAiErrors } from '../wire/errors.js';

const create = createRoute({
  method: 'post',
  path: EMBEDDINGS_ENDPOINT,
  security: NEEDS_API_KEY,
  tags: ['OpenAI-compatible'],
  summary: 'Embeddings, synchronously, in OpenAI’s request and response shapes',
  description:
    'Travels to a worker through the model’s queue as a call, whose answer comes straight back (no task is recorded), and returns when it is done; 504 past the configured timeout. Errors use OpenAI’s error shape.',
  request: {
    body: { required: true, content: { 'application/json': { schema: OpenAiEmbeddingRequestSchema } } },
  },
  responses: {
    200: { description: 'The embeddings', content: { 'application/json': { schema: OpenAiEmbeddingResponseSchema } } },
    ...openAiErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

export function openAiRoutes(useCases: HttpUseCases) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    const inputs = toInputs<string | readonly number[]>(body.input);
    const caller = c.get('principal');
    const answer = await useCases.createEmbeddings.execute(
      {
        requestId: c.get('requestId'),
        inputs,
        ...(caller && { caller }),
        ...(body.model !== undefined && { model: body.model }),
        ...(body.dimensions !== undefined && { dimensions: body.dimensions }),
        ...(body.input_type !== undefined && { prompt: { inputType: body.input_type } }),
        ...longTextChoice(body.long_text, body.chunk_overlap_tokens),
        ...(noCache(c, body.cache) && { cache: false as const }),
      },
      c.req.raw.signal,
    );
    answeredWithEmbeddings(c, answer);
    const { droppedTokens, chunks } = answer;
    return c.json(embeddingsBody(answer.model, answer.vectors, answer.promptTokens, body.encoding_format, { droppedTokens, chunks }), 200);
  });

  return app;
}
