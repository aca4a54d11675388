import { droppedTokensOf, type Embeddings, type TextChunk, type TokenizedText } from './embedding.js';
import type { TextInput } from './task.js';
import type { TextTruncation } from './truncation.js';
import { finishVectors } from './vector.js';

/**
 * What a text longer than its model reads gets: cut at its end (`truncate`),
 * refused (`error`), embedded whole in windows of the model's length whose
 * vectors are averaged (`pool`), or that and each window's own vector with
 * its place in the text (`chunks`).
 */
export const LONG_TEXT_MODES = ['truncate', 'error', 'pool', 'chunks'] as const;
export type LongText = (typeof LONG_TEXT_MODES)[number];

/** What a request says of its long texts: the mode, and the tokens neighbouring windows share (`chunk_overlap_tokens`). */
export interface LongTextChoice {
  readonly mode: LongText;
  readonly overlap?: number;
}

/**
 * A request's truncation for `model`: its `longText` choice, or else the
 * model's, applied over what the request says of cutting (direction, a lower
 * limit). Windows embed at most `maxTextTokens` tokens of a text (the
 * model's setting, or the service's).
 */
export function withLongText(
  truncation: TextTruncation | undefined,
  choice: LongTextChoice | undefined,
  model: { readonly longText?: LongText; readonly maxTextTokens?: number },
  maxTextTokens: number,
): TextTruncation | undefined {
  const mode = choice?.mode ?? (truncation?.truncate === undefined ? model.longText : undefined);
  if (mode === undefined) return truncation;
  if (mode === 'truncate' || mode === 'error') return { ...truncation, truncate: mode === 'truncate' };
  return { ...truncation, windows: { overlap: choice?.overlap ?? 0, chunks: mode === 'chunks', maxTextTokens: model.maxTextTokens ?? maxTextTokens } };
}

/**
 * The vector of a text embedded in windows: the mean of the windows' pooled
 * vectors (before any normalizing), each weighted by the tokens it holds.
 */
export function weightedMean(vectors: readonly Float32Array[], weights: readonly number[]): Float32Array {
  const sum = new Float64Array(vectors[0]!.length);
  const total = weights.reduce((n, w) => n + w, 0);
  vectors.forEach((vector, i) => {
    const share = weights[i]! / total;
    for (let d = 0; d < sum.length; d++) sum[d] = sum[d]! + vector[d]! * share;
  });
  return Float32Array.from(sum);
}

/**
 * A task's inputs embedded, from the rows of its units (each input's windows
 * in order, or the input itself): a windowed input's vector is the weighted
 * mean of its windows'; every vector scaled to unit length when `normalize`.
 * With `chunks`, each input's windows too (one for a text that fit in one,
 * covering it all). Each input's tokens are those of all its windows.
 */
export function joinWindows(
  inputs: readonly TextInput[],
  tokenized: readonly TokenizedText[],
  rows: readonly Float32Array[],
  options: { normalize: boolean; chunks: boolean; promptLength?: number },
): Embeddings {
  // A window's place in the text the caller sent: the prompt the model read first is not in it.
  const skip = options.promptLength ?? 0;
  const inCallersText = (span: TextChunk['span']) => (span ? { span: { start: Math.max(0, span.start - skip), end: Math.max(0, span.end - skip) } } : {});
  const vectors: Float32Array[] = [];
  const windowChunks: (TextChunk[] | undefined)[] = [];
  const tokenCounts: number[] = [];
  let next = 0;
  for (const text of tokenized) {
    const windows = text.windows ?? [text];
    const own = rows.slice(next, (next += windows.length));
    const weights = windows.map((window) => window.ids.length);
    vectors.push(windows.length === 1 ? own[0]! : weightedMean(own, weights));
    tokenCounts.push(weights.reduce((sum, n) => sum + n, 0));
    const parts = text.windows;
    windowChunks.push(parts && finishVectors(own, options.normalize).map((vector, i) => ({ vector, tokens: weights[i]!, ...inCallersText(parts[i]!.span) })));
  }
  finishVectors(vectors, options.normalize);
  const dropped = droppedTokensOf(tokenized);
  const whole = (i: number): TextChunk => {
    const input = inputs[i]!;
    return { vector: Float32Array.from(vectors[i]!), tokens: tokenCounts[i]!, ...(typeof input === 'string' && inCallersText({ start: 0, end: input.length })) };
  };
  return {
    vectors,
    tokenCounts,
    ...(dropped && { droppedTokens: dropped }),
    ...(options.chunks && { chunks: windowChunks.map((chunks, i) => chunks ?? [whole(i)]) }),
  };
}
