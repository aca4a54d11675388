import { z } from '@hono/zod-openapi';
import type { TextToken, TextTruncation } from '../../../domain/index.js';
import { MODEL_ID_MAX } from './common.js';

/*
 * text-embeddings-inference's wire format (router/src/http/types.rs in
 * huggingface/text-embeddings-inference): what its clients send and read.
 */

/** TEI's `truncation_direction`, which its clients spell either way. */
const Direction = z.enum(['Left', 'Right', 'left', 'right']).openapi({ description: 'Which end of a text too long for the model is cut (default Right).' });
const Truncate = z.boolean().nullable().optional().openapi({ description: 'Cut a text too long for the model; false refuses it with 422. Absent: the model’s default (`auto_truncate` in GET /info).' });
const PromptName = z.string().min(1).max(MODEL_ID_MAX).nullable().optional().openapi({ description: 'One of the model’s prompts (GET /v1/models), put before each text; absent: its default prompt, if any.' });

/** One input: a text, or token ids of the model's vocabulary. */
const Input = z.union([z.string(), z.array(z.number().int().min(0))]);

export const TeiEmbedRequestSchema = z
  .object({
    inputs: z.union([Input, z.array(Input)]).openapi({ description: 'A text, a list of texts, or token ids (one list, or a list of lists).', example: ['What is Deep Learning?'] }),
    truncate: Truncate,
    truncation_direction: Direction.optional(),
    prompt_name: PromptName,
    normalize: z.boolean().optional().openapi({ description: 'Scale each vector to unit length (default true); false gives it as the model pools it.' }),
    dimensions: z.number().int().min(1).nullable().optional().openapi({ description: 'Shorten each vector to this size (Matryoshka models only).' }),
  })
  .openapi('TeiEmbedRequest');

export const TeiEmbedResponseSchema = z.array(z.array(z.number())).openapi('TeiEmbedResponse');

export const TeiSimilarityRequestSchema = z
  .object({
    inputs: z.object({
      source_sentence: z.string().openapi({ example: 'What is Deep Learning?' }),
      sentences: z.array(z.string()).openapi({ example: ['What is Machine Learning?'] }),
    }),
    parameters: z.object({ truncate: Truncate, truncation_direction: Direction.optional(), prompt_name: PromptName }).nullable().optional(),
  })
  .openapi('TeiSimilarityRequest');

export const TeiSimilarityResponseSchema = z.array(z.number()).openapi({ description: 'The cosine similarity of each sentence to the source sentence, in order.' });

export const TeiTokenizeRequestSchema = z
  .object({
    inputs: z.union([z.string(), z.array(z.string())]).openapi({ example: 'test' }),
    add_special_tokens: z.boolean().optional().openapi({ description: 'Default true.' }),
    prompt_name: PromptName,
  })
  .openapi('TeiTokenizeRequest');

export const TeiTokenizeResponseSchema = z
  .array(
    z.array(
      z.object({
        id: z.number().int(),
        text: z.string(),
        special: z.boolean(),
        start: z.number().int().nullable().openapi({ description: 'UTF-8 byte offset in the text (its prompt included); null for a special token.' }),
        stop: z.number().int().nullable(),
      }),
    ),
  )
  .openapi('TeiTokenizeResponse');

export const TeiDecodeRequestSchema = z
  .object({
    ids: z.union([z.array(z.number().int().min(0)), z.array(z.array(z.number().int().min(0)))]).openapi({ example: [2, 3] }),
    skip_special_tokens: z.boolean().optional().openapi({ description: 'Default true.' }),
  })
  .openapi('TeiDecodeRequest');

export const TeiDecodeResponseSchema = z.array(z.string()).openapi('TeiDecodeResponse');

export const TeiInfoSchema = z
  .object({
    model_id: z.string(),
    model_sha: z.string().nullable(),
    model_dtype: z.string(),
    served_model_name: z.string(),
    model_type: z.union([
      z.object({ embedding: z.object({ pooling: z.string().nullable().openapi({ description: 'null until configured or reported by a worker.' }) }) }),
      z.object({ reranker: z.object({ id2label: z.record(z.string(), z.string()), label2id: z.record(z.string(), z.number().int()) }) }),
    ]),
    max_concurrent_requests: z.number().int().openapi({ description: 'Tasks that may wait in the model’s queue.' }),
    max_input_length: z.number().int().nullable().openapi({ description: 'Tokens the model reads; null until configured or reported by a worker.' }),
    max_batch_tokens: z.number().int(),
    max_batch_requests: z.number().int().nullable(),
    max_client_batch_size: z.number().int(),
    auto_truncate: z.boolean(),
    tokenization_workers: z.number().int().openapi({ description: 'Workers serving the model: each tokenizes its own tasks.' }),
    version: z.string(),
    sha: z.string().nullable(),
    docker_label: z.string().nullable(),
  })
  .openapi('TeiInfo');

/** TEI's `truncate` and `truncation_direction` as a truncation; an absent `truncate` takes the model's `long_text` (TEI's `auto_truncate`). */
export function teiTruncation(truncate: boolean | null | undefined, direction: z.infer<typeof Direction> | undefined): TextTruncation {
  return { ...(truncate != null && { truncate }), direction: direction?.toLowerCase() === 'left' ? 'left' : 'right' };
}

/** A token as TEI shows it: its span as UTF-8 byte offsets into `text`, and the text it covers. */
export function teiToken(token: TextToken, byteOffsets: readonly number[]) {
  if (!token.span) return { id: token.id, text: token.text, special: true, start: null, stop: null };
  return { id: token.id, text: token.text, special: false, start: byteOffsets[token.span.start]!, stop: byteOffsets[token.span.stop]! };
}

/** The UTF-8 byte offset at which each code point of `text` starts, and its length at the end. */
export function utf8Offsets(text: string): number[] {
  const offsets = [0];
  for (const char of text) offsets.push(offsets.at(-1)! + Buffer.byteLength(char, 'utf8'));
  return offsets;
}
