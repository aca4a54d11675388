import type { Embeddings, ModelInfo } from '../domain/index.js';

/**
 * A loaded sentence-embedding model.
 *
 * Guarantees:
 * - `embed` returns one vector per input, in input order, each `info.dimensions`
 *   long (unit length when `info.normalize`);
 * - a text's vector does not depend on the other texts of the call (batching and
 *   padding are invisible up to float rounding), and the same text always gives
 *   the same vector;
 * - texts longer than `info.maxTokens` tokens are truncated, never rejected;
 * - an empty list or an empty text is rejected with `ValidationError`; any other
 *   failure is an `InferenceError`.
 * Calls may overlap; an adapter serialises them if its runtime needs it.
 */
export interface EmbeddingModel {
  readonly info: ModelInfo;
  embed(texts: readonly string[]): Promise<Embeddings>;
  /** Tokens each text would use, after truncation, without running the model. */
  countTokens(texts: readonly string[]): Promise<readonly number[]>;
  /** Frees the runtime's memory. The model is unusable afterwards. */
  close(): Promise<void>;
}
