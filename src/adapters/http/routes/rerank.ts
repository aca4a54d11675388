import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { RERANK_ENDPOINT } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { answeredBy } from './answered.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { cohereErrors, openAiErrors } from '../wire/errors.js';
import {
  CohereRerankRequestSchema,
  CohereRerankResponseSchema,
  documentTexts,
  RerankRequestSchema,
  rerankBody,
  RerankResponseSchema,
} from '../wire/rerank.js';

/** Documents per search unit, as Cohere bills them. */
const DOCUMENTS_PER_SEARCH_UNIT = 100;

const rerank = createRoute({
  method: 'post',
  path: RERANK_ENDPOINT,
  security: NEEDS_API_KEY,
  tags: ['Rerank'],
  summary: 'Scores documents against a query with a cross-encoder (Jina’s and vLLM’s shape)',
  description:
    'Travels to a worker through the reranker’s queue as a call, whose answer comes straight back (no task is recorded), and returns when it is done; results are sorted by score, highest first, and cut to top_n. Errors use OpenAI’s error shape.',
  request: { body: { required: true, content: { 'application/json': { schema: RerankRequestSchema } } } },
  responses: {
    200: { description: 'The documents, best first', content: { 'application/json': { schema: RerankResponseSchema } } },
    ...openAiErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

const cohere = createRoute({
  method: 'post',
  path: '/v2/rerank',
  security: NEEDS_API_KEY,
  tags: ['Rerank'],
  summary: 'Scores documents against a query with a cross-encoder (Cohere’s v2 shape)',
  description: 'What `CohereClientV2.rerank` sends and reads. Errors are Cohere’s `{ message }`.',
  request: { body: { required: true, content: { 'application/json': { schema: CohereRerankRequestSchema } } } },
  responses: {
    200: { description: 'The documents, best first', content: { 'application/json': { schema: CohereRerankResponseSchema } } },
    ...cohereErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

/** The rerank routes of one family, with the error shape its clients read (TEI's are with its other routes). */
export function rerankRoutes(useCases: HttpUseCases, family: 'openai' | 'cohere') {
  const app = new OpenAPIHono<HttpEnv>();
  if (family === 'cohere') return cohereRoute(app, useCases);

  app.openapi(rerank, async (c) => {
    const body = c.req.valid('json');
    const documents = documentTexts(body.documents);
    const reranked = await useCases.rerank.execute(
      {
        ...common(c),
        query: body.query,
        documents,
        ...(body.model !== undefined && { model: body.model }),
        ...(body.top_n !== undefined && { topN: body.top_n }),
        ...(body.raw_scores !== undefined && { rawScores: body.raw_scores }),
        ...(body.max_tokens_per_doc !== undefined && { truncation: { maxDocumentTokens: body.max_tokens_per_doc } }),
        ...(body.priority !== undefined && { priority: body.priority }),
      },
      c.req.raw.signal,
    );
    answeredBy(c, reranked.task, reranked.tokens);
    const { task, model, promptTokens, results } = reranked;
    return c.json(rerankBody({ taskId: task.id, model, promptTokens, results, ...((body.return_documents ?? true) && { documents }) }), 200);
  });

  return app;
}

/** What every rerank route passes on of its request, besides its own fields. */
function common(c: Context<HttpEnv>) {
  const caller = c.get('principal');
  return { requestId: c.get('requestId'), ...(caller && { caller }) };
}


function cohereRoute(app: OpenAPIHono<HttpEnv>, useCases: HttpUseCases) {
  app.openapi(cohere, async (c) => {
    const body = c.req.valid('json');
    const reranked = await useCases.rerank.execute(
      {
        ...common(c),
        model: body.model,
        query: body.query,
        documents: body.documents,
        ...(body.top_n !== undefined && { topN: body.top_n }),
        ...(body.raw_scores !== undefined && { rawScores: body.raw_scores }),
        ...(body.max_tokens_per_doc !== undefined && { truncation: { maxDocumentTokens: body.max_tokens_per_doc } }),
      },
      c.req.raw.signal,
    );
    answeredBy(c, reranked.task, reranked.tokens);
    return c.json(
      {
        id: reranked.task.id,
        results: reranked.results.map(({ index, score }) => ({ index, relevance_score: score })),
        meta: { api_version: { version: '2' as const }, billed_units: { search_units: Math.ceil(body.documents.length / DOCUMENTS_PER_SEARCH_UNIT) } },
      },
      200,
    );
  });
  return app;
}
