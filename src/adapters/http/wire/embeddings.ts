import { z } from '@hono/zod-openapi';
import {
  compact,
  COMPACT_TYPES,
  InvalidParameterError,
  LONG_TEXT_MODES,
  VECTOR_ENCODINGS,
  type LongText,
  type LongTextChoice,
  type TextChunk,
  type VectorEncoding,
} from '../../../domain/index.js';
import { MODEL_ID_MAX } from './common.js';

export const UsageSchema = z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() });

/** This service's extension: what a text too long for the model gets, on the routes that take OpenAI's request. */
export const LongTextFields = {
  long_text: z
    .enum(LONG_TEXT_MODES)
    .optional()
    .openapi({
      description:
        "This service's extension: what a text longer than the model reads gets: `truncate` (cut at its end; the answer marks it `truncated`), `error` (a 422 naming it), `pool` (embedded whole, in windows of the model's length whose vectors are averaged) or `chunks` (that, and each window's vector with its place in the text). Absent: the model's `long_text` setting, `truncate` unless configured.",
    }),
  chunk_overlap_tokens: z
    .number()
    .int()
    .min(0)
    .optional()
    .openapi({ description: "This service's extension: with `long_text` `pool` or `chunks`, the tokens neighbouring windows share (default 0)." }),
};

/** This service's extension on the synchronous embedding routes: opting out of the embedding cache. */
export const CacheField = {
  cache: z
    .boolean()
    .optional()
    .openapi({
      description:
        "This service's extension: `false` computes every vector afresh, neither served from the embedding cache nor kept in it (as does the header `Cache-Control: no-cache` or `no-store`). Default true.",
    }),
};

/** A request's `long_text` and `chunk_overlap_tokens`; absent: the model decides. An overlap without windows is refused. */
export function longTextChoice(mode: LongText | undefined, overlap: number | undefined): { longText?: LongTextChoice } {
  if (overlap !== undefined && mode !== 'pool' && mode !== 'chunks') {
    throw new InvalidParameterError('chunk_overlap_tokens', 'chunk_overlap_tokens applies to long_text pool or chunks only.');
  }
  return mode === undefined ? {} : { longText: { mode, ...(overlap !== undefined && { overlap }) } };
}

/** A window of a long text in an answer (`long_text: chunks`): its vector, encoded as the answer's, and its place in the input. */
export const ChunkSchema = z.object({
  embedding: z.union([z.array(z.number()), z.string()]),
  start: z.number().int().nullable().openapi({ description: 'UTF-16 offset in the input: `input.slice(start, end)` is the window’s text; null for token ids, and on USE-lite.' }),
  end: z.number().int().nullable(),
  tokens: z.number().int().openapi({ description: 'Tokens the window holds, special tokens included (billed in usage).' }),
});

/* OpenAI's embeddings: https://platform.openai.com/docs/api-reference/embeddings */

const TokenIds = z.array(z.number().int().min(0));

export const OpenAiEmbeddingRequestSchema = z
  .object({
    input: z
      .union([z.string(), z.array(z.string()), TokenIds, z.array(TokenIds)], {
        error: 'must be a string, an array of strings, an array of token ids, or an array of token-id arrays',
      })
      .openapi({ description: 'Text or token ids (of the model’s own vocabulary) to embed.', example: 'Hello world' }),
    model: z.string().min(1).max(MODEL_ID_MAX).optional().openapi({ description: 'A model id from GET /v1/models.' }),
    encoding_format: z
      .enum(VECTOR_ENCODINGS)
      .optional()
      .openapi({
        description: `float (default) or base64 of little-endian float32, as OpenAI encodes it. This service's extension: ${COMPACT_TYPES.join(', ')}, each vector as an array of integers (see the README's "Compact vectors").`,
      }),
    dimensions: z
      .number()
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'Shorten the vectors to this size; only for models that list it in output_dimensions.' }),
    input_type: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .openapi({
        description:
          "This service's extension (Voyage's and Cohere's field): what the texts are for, `query` or `document` (or Cohere's `search_query`, `search_document`), which picks the model's prompt of that name; a model without prompts applies none.",
        example: 'query',
      }),
    ...LongTextFields,
    ...CacheField,
    user: z.string().optional().openapi({ description: 'Accepted and ignored.' }),
  })
  .openapi('EmbeddingRequest');

/** This service's extension on an embedding: present when its text was cut to fit the model. */
export const TruncatedFields = {
  truncated: z.literal(true).optional().openapi({ description: 'This service’s extension: the text was cut to fit the model; present only then.' }),
  dropped_tokens: z.number().int().optional().openapi({ description: 'How many of its tokens were cut (the model never saw them).' }),
};

/** A cut text's extension fields (`TruncatedFields`), or none. */
export function truncatedFields(dropped: number | undefined) {
  return dropped ? { truncated: true as const, dropped_tokens: dropped } : {};
}

export const OpenAiEmbeddingResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
        ...TruncatedFields,
        chunks: z.array(ChunkSchema).optional().openapi({ description: 'This service’s extension, with `long_text: chunks`: the windows the input was embedded in.' }),
      }),
    ),
    model: z.string(),
    usage: UsageSchema,
  })
  .openapi('EmbeddingResponse');

/** The body of `POST /v1/embeddings`' answer: for the route, and for each line a batch runs. */
export function embeddingsBody(
  model: string,
  vectors: readonly Float32Array[],
  tokens: number,
  encoding: VectorEncoding | undefined,
  marks: { readonly droppedTokens?: readonly number[] | undefined; readonly chunks?: readonly (readonly TextChunk[])[] | undefined } = {},
) {
  const encode = (vector: Float32Array) =>
    encoding === 'base64' ? base64Vector(vector) : encoding === undefined || encoding === 'float' ? Array.from(vector) : compact(vector, encoding);
  return {
    object: 'list' as const,
    data: vectors.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding: encode(vector),
      ...truncatedFields(marks.droppedTokens?.[index]),
      ...chunkFields(marks.chunks?.[index], encode),
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** An input's windows in an answer (`ChunkSchema`), or nothing. */
export function chunkFields<E>(chunks: readonly TextChunk[] | undefined, encode: (vector: Float32Array) => E) {
  if (!chunks) return {};
  return { chunks: chunks.map(({ vector, span, tokens }) => ({ embedding: encode(vector), start: span?.start ?? null, end: span?.end ?? null, tokens })) };
}

/** Little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"` returns them. */
export function base64Vector(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes.toString('base64');
}

/**
 * A request's inputs as a list, whatever form it sent them in (OpenAI's four,
 * TEI's): one text, or one list of token ids, is a list of one.
 */
export function toInputs<T extends string | readonly number[]>(input: T | readonly T[]): readonly T[] {
  if (typeof input === 'string') return [input];
  return input.length > 0 && typeof input[0] === 'number' ? [input as T] : (input as readonly T[]);
}
