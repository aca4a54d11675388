import { z } from '@hono/zod-openapi';
import { base64Vector } from './embeddings.js';
import { compact, COMPACT_TYPES } from '../../../domain/index.js';
import { MODEL_ID_MAX } from './common.js';

/* Cohere's v2 embed: https://docs.cohere.com/reference/embed */

export const COHERE_EMBEDDING_TYPES = ['float', ...COMPACT_TYPES, 'base64'] as const;
type CohereEmbeddingType = (typeof COHERE_EMBEDDING_TYPES)[number];

export const CohereEmbedRequestSchema = z
  .object({
    model: z.string().min(1).max(MODEL_ID_MAX).openapi({ description: 'An embedding model from GET /v1/models.' }),
    texts: z.array(z.string()).openapi({ description: 'Texts to embed.', example: ['hello', 'goodbye'] }),
    images: z.array(z.unknown()).optional().openapi({ description: 'Not served: this service embeds texts.' }),
    inputs: z.array(z.unknown()).optional().openapi({ description: 'Not served: give `texts`.' }),
    input_type: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({ description: '`search_query`, `search_document`, …: picks the model’s prompt for it (see Prompts in docs/models.md); a model without prompts applies none.', example: 'search_query' }),
    embedding_types: z.array(z.enum(COHERE_EMBEDDING_TYPES)).min(1).optional().openapi({ description: 'The forms to answer each vector in (default `["float"]`).' }),
    output_dimension: z.number().int().min(1).optional().openapi({ description: 'Shorten the vectors to this size; only for models that list it in output_dimensions.' }),
    max_tokens: z.number().int().min(1).optional().openapi({ description: 'Most tokens of each text, special tokens included.' }),
    truncate: z.enum(['NONE', 'START', 'END']).optional().openapi({ description: 'Where a text too long is cut (default `END`); `NONE` refuses it with 422.' }),
    priority: z.number().int().optional().openapi({ description: 'Accepted and ignored.' }),
  })
  .openapi('CohereEmbedRequest');

const integers = z.array(z.array(z.number().int()));

const Meta = z.object({ api_version: z.object({ version: z.enum(['1', '2']) }), billed_units: z.object({ input_tokens: z.number().int() }) });

export const CohereEmbedResponseSchema = z
  .object({
    id: z.string().openapi({ description: 'The task that ran it.' }),
    embeddings: z.object({
      float: z.array(z.array(z.number())).optional(),
      int8: integers.optional(),
      uint8: integers.optional(),
      binary: integers.optional(),
      ubinary: integers.optional(),
      base64: z.array(z.string()).optional().openapi({ description: 'Little-endian float32, in base64.' }),
    }),
    texts: z.array(z.string()),
    meta: Meta,
    response_type: z.literal('embeddings_by_type'),
  })
  .openapi('CohereEmbedResponse');

/** Cohere v1's answer when no `embedding_types` were asked for: the float vectors alone. */
export const CohereEmbedFloatsResponseSchema = z
  .object({ id: z.string(), embeddings: z.array(z.array(z.number())), texts: z.array(z.string()), meta: Meta, response_type: z.literal('embeddings_floats') })
  .openapi('CohereEmbedFloatsResponse');

/** Each vector in every form asked for, keyed by form, as Cohere answers `embeddings`. */
export function embeddingsByType(vectors: readonly Float32Array[], types: readonly CohereEmbeddingType[]): z.infer<typeof CohereEmbedResponseSchema>['embeddings'] {
  const embeddings: z.infer<typeof CohereEmbedResponseSchema>['embeddings'] = {};
  for (const type of new Set(types)) {
    if (type === 'float') embeddings.float = vectors.map((v) => Array.from(v));
    else if (type === 'base64') embeddings.base64 = vectors.map(base64Vector);
    else embeddings[type] = vectors.map((v) => compact(v, type));
  }
  return embeddings;
}
