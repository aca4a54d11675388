import type { PairTruncation, RerankerInfo, TokenizedText } from '../domain/index.js';

/**
 * A loaded cross-encoder (a sentence-transformers CrossEncoder export): it
 * reads a query and a document together and gives the pair logits.
 *
 * Guarantees:
 * - `tokenizePairs` gives one tokenized pair per document, in order, made
 *   with the tokenizer's own pair template (BERT's [CLS] q [SEP] d [SEP]
 *   with segment ids, RoBERTa's <s> q </s></s> d </s>), never longer than
 *   `info.maxTokens`: a document is first cut to `maxDocumentTokens`, then
 *   the pair is cut as Hugging Face tokenizers' `longest_first` cuts it,
 *   from the `direction` end (the right by default); special tokens are
 *   always kept; with `truncate: false`, a pair too long is refused with
 *   `ValidationError` naming the document instead;
 * - `scoreTokenized` gives one row of `info.labels` logits per pair, in
 *   order, and a pair's logits do not depend on the other pairs of the batch
 *   (up to float rounding);
 * - an empty query or document list is rejected with `ValidationError`;
 *   any other failure is an `InferenceError`.
 * Calls may overlap; an adapter serialises them if its runtime needs it.
 */
export interface RerankerModel {
  readonly info: RerankerInfo;
  tokenizePairs(query: string, documents: readonly string[], truncation?: PairTruncation): Promise<readonly TokenizedText[]>;
  scoreTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]>;
  /** Frees the runtime's memory. The model is unusable afterwards. */
  close(): Promise<void>;
}
