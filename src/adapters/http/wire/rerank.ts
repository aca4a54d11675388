import { z } from '@hono/zod-openapi';
import { MODEL_ID_MAX } from './common.js';
import { UsageSchema } from './embeddings.js';

/*
 * Reranking in Jina's shape, which vLLM serves too (POST /v1/rerank):
 * https://jina.ai/reranker/ and vLLM's "Re-rank API".
 */

const Document = z.union([z.string(), z.object({ text: z.string() })], { error: 'must be a string or an object with a text' });

export const RerankRequestSchema = z
  .object({
    model: z.string().min(1).max(MODEL_ID_MAX).optional().openapi({ description: 'A reranker from GET /v1/models; the default reranker when absent.' }),
    query: z.string().openapi({ example: 'What is the capital of France?' }),
    documents: z.array(Document).openapi({ description: 'Texts to score against the query, as strings or `{ "text": … }` objects.', example: ['Paris is the capital of France.', 'Berlin is in Germany.'] }),
    top_n: z.number().int().min(1).optional().openapi({ description: 'Only the best this many; all of them when absent.' }),
    return_documents: z.boolean().optional().openapi({ description: 'Whether each result carries its document’s text (default true).' }),
    max_tokens_per_doc: z.number().int().min(1).optional().openapi({ description: 'Cut each document to this many tokens first (Cohere’s parameter).' }),
    raw_scores: z.boolean().optional().openapi({ description: 'This service’s: the model’s logit instead of the score (the sigmoid of a one-label model’s logit, in 0..1).' }),
    priority: z.number().int().min(0).max(9).optional().openapi({ description: 'Served before lower priorities waiting for the same model.' }),
  })
  .openapi('RerankRequest');

export const RerankResponseSchema = z
  .object({
    id: z.string().openapi({ description: 'The task that ran it.' }),
    model: z.string(),
    usage: UsageSchema,
    results: z.array(
      z.object({
        index: z.number().int().openapi({ description: 'The document’s position in the request.' }),
        relevance_score: z.number(),
        document: z.object({ text: z.string() }).optional(),
      }),
    ),
  })
  .openapi('RerankResponse');

export function documentTexts(documents: readonly z.infer<typeof Document>[]): string[] {
  return documents.map((d) => (typeof d === 'string' ? d : d.text));
}
