import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { openAiErrors } from '../wire/errors.js';
import { documentTexts, RerankRequestSchema, RerankResponseSchema } from '../wire/rerank.js';

export const RERANK_ENDPOINT = '/v1/rerank';

const rerank = createRoute({
  method: 'post',
  path: RERANK_ENDPOINT,
  security: NEEDS_API_KEY,
  tags: ['Rerank'],
  summary: 'Scores documents against a query with a cross-encoder (Jina’s and vLLM’s shape)',
  description:
    'Travels the same path as a task (the reranker’s queue, a worker, the store) and returns when it is done; results are sorted by score, highest first, and cut to top_n. Errors use OpenAI’s error shape.',
  request: { body: { required: true, content: { 'application/json': { schema: RerankRequestSchema } } } },
  responses: {
    200: { description: 'The documents, best first', content: { 'application/json': { schema: RerankResponseSchema } } },
    ...openAiErrors(400, 401, 404, 413, 415, 422, 429, 500, 503, 504),
  },
});

export function rerankRoutes(useCases: HttpUseCases) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(rerank, async (c) => {
    const body = c.req.valid('json');
    const documents = documentTexts(body.documents);
    const caller = c.get('principal');
    const reranked = await useCases.rerank.execute(
      {
        query: body.query,
        documents,
        requestId: c.get('requestId'),
        ...(caller && { caller }),
        ...(body.model !== undefined && { model: body.model }),
        ...(body.top_n !== undefined && { topN: body.top_n }),
        ...(body.raw_scores !== undefined && { rawScores: body.raw_scores }),
        ...(body.max_tokens_per_doc !== undefined && { truncation: { maxDocumentTokens: body.max_tokens_per_doc } }),
        ...(body.priority !== undefined && { priority: body.priority }),
      },
      c.req.raw.signal,
    );
    if (reranked.tokens) c.set('rateLimits', { ...c.get('rateLimits'), tokens: reranked.tokens });
    c.set('taskId', reranked.task.id);
    c.set('model', reranked.model);
    const withText = body.return_documents ?? true;
    return c.json(
      {
        id: reranked.task.id,
        model: reranked.model,
        usage: { prompt_tokens: reranked.promptTokens, total_tokens: reranked.promptTokens },
        results: reranked.results.map(({ index, score }) => ({ index, relevance_score: score, ...(withText && { document: { text: documents[index]! } }) })),
      },
      200,
    );
  });

  return app;
}
