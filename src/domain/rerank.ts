/**
 * Reranking: a cross-encoder reads a query and a document together and
 * gives the pair a relevance score. These are the rules for cutting a pair
 * to fit the model and for turning its logits into a score, independent of
 * any runtime.
 */

import type { TextTruncation } from './truncation.js';

/** How a pair too long for the model is cut (`direction`) or refused (`truncate: false`, TEI's default on its route). */
export interface PairTruncation extends Pick<TextTruncation, 'direction' | 'truncate'> {
  /** Most tokens a document keeps, whatever room the model has (Cohere's `max_tokens_per_doc`). */
  readonly maxDocumentTokens?: number;
}

/**
 * What makes a task a rerank task: the query its documents (the task's
 * inputs) are scored against, and how a pair too long for the model is cut.
 */
export interface RerankQuery extends PairTruncation {
  readonly query: string;
}

/**
 * A rerank task's result holds one row per document, as an embedding task's
 * holds one vector per text: the pair's relevance score (see
 * `relevanceScore`) and the logit it came from, which is what a client that
 * asks for raw scores gets.
 */
export const RERANK_ROW = { score: 0, logit: 1 } as const;

/** How a rerank answer is cut and what its scores are, on every route and batch line alike. */
export interface Ranking {
  /** Only the best this many; all of them when absent. */
  readonly topN?: number;
  /** The logit each score came from, rather than the score (TEI's `raw_scores`). */
  readonly rawScores?: boolean;
}

export interface RankedDocument {
  /** The document's position in the request. */
  readonly index: number;
  readonly score: number;
}

/** A rerank task's result rows as its answer: highest score first, equal scores in request order, cut to `topN`. */
export function rankDocuments(rows: readonly ArrayLike<number>[], { topN, rawScores = false }: Ranking): RankedDocument[] {
  const column = rawScores ? RERANK_ROW.logit : RERANK_ROW.score;
  const ranked = rows.map((row, index) => ({ index, score: row[column]! }));
  ranked.sort((a, b) => b.score - a.score || a.index - b.index);
  return ranked.slice(0, topN ?? ranked.length);
}

/** A document's result row from the model's logits for its pair. */
export function rerankRow(logits: ArrayLike<number>, label: number): Float32Array {
  return Float32Array.of(relevanceScore(logits, { label }), logits[label]!);
}

/**
 * How many tokens of the query and of the document fit in `room` (the
 * model's length less the pair's special tokens), the way Hugging Face
 * tokenizers' `longest_first` cuts a pair, which sentence-transformers'
 * CrossEncoder uses: tokens come off the longer of the two, so a query that
 * takes no more than half the room is kept whole and the document is cut.
 */
export function fitPair(queryTokens: number, documentTokens: number, room: number): { query: number; document: number } {
  if (queryTokens + documentTokens <= room) return { query: queryTokens, document: documentTokens };
  const shorter = Math.min(queryTokens, documentTokens);
  if (shorter <= room / 2) {
    return queryTokens <= documentTokens ? { query: queryTokens, document: room - queryTokens } : { query: room - documentTokens, document: documentTokens };
  }
  // Both are long: cut evenly, an odd room's extra token to the longer (to the document on a tie), as tokenizers does.
  const half = Math.floor(room / 2);
  const queryLonger = queryTokens > documentTokens;
  return { query: queryLonger ? room - half : half, document: queryLonger ? half : room - half };
}


/**
 * A pair's relevance from the model's logits for it: with one label, the
 * sigmoid of its logit (in 0..1, as TEI and infinity give it); with several,
 * the softmax probability of `label`. `raw` gives the logit itself.
 */
export function relevanceScore(logits: ArrayLike<number>, { raw = false, label = 0 }: { raw?: boolean; label?: number } = {}): number {
  const logit = logits[label]!;
  if (raw) return logit;
  if (logits.length === 1) return 1 / (1 + Math.exp(-logit));
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return Math.exp(logit - max) / sum;
}
