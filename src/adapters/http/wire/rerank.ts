import { z } from '@hono/zod-openapi';
import type { RankedDocument } from '../../../domain/index.js';
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

/** The answer of POST /v1/rerank (and of a batch line calling it): `documents` given when each result carries its text. */
export function rerankBody(answer: {
  taskId: string;
  model: string;
  promptTokens: number;
  results: readonly RankedDocument[];
  documents?: readonly string[] | undefined;
}): z.infer<typeof RerankResponseSchema> {
  const { documents } = answer;
  return {
    id: answer.taskId,
    model: answer.model,
    usage: { prompt_tokens: answer.promptTokens, total_tokens: answer.promptTokens },
    results: answer.results.map(({ index, score }) => ({ index, relevance_score: score, ...(documents && { document: { text: documents[index]! } }) })),
  };
}

/* Cohere's v2 rerank: https://docs.cohere.com/reference/rerank */

export const CohereRerankRequestSchema = z
  .object({
    model: z.string().min(1).max(MODEL_ID_MAX).openapi({ description: 'A reranker from GET /v1/models.' }),
    query: z.string(),
    documents: z.array(z.string()).openapi({ description: 'Texts to score against the query.' }),
    top_n: z.number().int().min(1).optional(),
    max_tokens_per_doc: z.number().int().min(1).optional().openapi({ description: 'Cut each document to this many tokens first (default: as many as the model takes).' }),
    raw_scores: z.boolean().optional().openapi({ description: 'This service’s: the model’s logit instead of the score.' }),
  })
  .openapi('CohereRerankRequest');

export const CohereRerankResponseSchema = z
  .object({
    id: z.string(),
    results: z.array(z.object({ index: z.number().int(), relevance_score: z.number() })),
    meta: z.object({
      api_version: z.object({ version: z.literal('2') }),
      billed_units: z.object({ search_units: z.number().int().openapi({ description: 'As Cohere counts them: one per hundred documents.' }) }),
    }),
  })
  .openapi('CohereRerankResponse');

/* text-embeddings-inference's rerank: https://huggingface.github.io/text-embeddings-inference/#/Text%20Embeddings%20Inference/rerank */

export const TeiRerankRequestSchema = z
  .object({
    query: z.string(),
    texts: z.array(z.string()).openapi({ description: 'Texts to score against the query.' }),
    raw_scores: z.boolean().optional().openapi({ description: 'The model’s logit instead of the score (default false).' }),
    return_text: z.boolean().optional().openapi({ description: 'Whether each result carries its text (default false).' }),
    truncate: z.boolean().optional().openapi({ description: 'Cut a pair too long for the model (default false: it is refused with 422).' }),
    truncation_direction: z.enum(['Left', 'Right', 'left', 'right']).optional().openapi({ description: 'Which end of a text is cut (default Right).' }),
  })
  .openapi('TeiRerankRequest');

export const TeiRerankResponseSchema = z
  .array(z.object({ index: z.number().int(), score: z.number(), text: z.string().optional() }))
  .openapi('TeiRerankResponse');
