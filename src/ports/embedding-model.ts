import type { Embeddings, ModelInfo, TextInput, TextTruncation, TokenizedText } from '../domain/index.js';

/**
 * A loaded sentence-embedding model.
 *
 * Guarantees:
 * - `embed` returns one vector per input, in input order, each `info.dimensions`
 *   long (unit length when `info.normalize`); `embedTokenized` returns them as
 *   the model pools them, never scaled, so that its caller scales each task's
 *   vectors as that task asks;
 * - a text's vector does not depend on the other texts of the call (batching and
 *   padding are invisible up to float rounding), and the same text always gives
 *   the same vector;
 * - texts (and token-id inputs) longer than `info.maxTokens` tokens, special
 *   tokens included, are cut at the end, or at the start with `direction:
 *   'left'`; with `truncate: false` they are rejected with a
 *   `ValidationError` naming the input instead;
 * - token-id inputs are ids of the model's own vocabulary; the model adds its
 *   special tokens around them, as it does for a text;
 * - an empty list, an empty text or an unknown token id is rejected with
 *   `ValidationError`; any other failure is an `InferenceError`.
 * Calls may overlap; an adapter serialises them if its runtime needs it.
 *
 * `embed(texts)` is `embedTokenized(await tokenize(texts))`. The two halves
 * exist so that a batcher tokenizes each text once, sizes batches by tokens,
 * and merges texts of many tasks into one inference.
 */
export interface EmbeddingModel {
  readonly info: ModelInfo;
  embed(inputs: readonly TextInput[]): Promise<Embeddings>;
  /** Tokenizes, fitting each input to `info.maxTokens` as `truncation` says (default: cut at the end), without running the model. */
  tokenize(inputs: readonly TextInput[], truncation?: TextTruncation): Promise<readonly TokenizedText[]>;
  /** One pooled vector per tokenized text, in order, from one inference over the batch; not normalized. */
  embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]>;
  /** Frees the runtime's memory. The model is unusable afterwards. */
  close(): Promise<void>;
}
