import { ValidationError } from './errors.js';

/** Which end of a text loses its tokens when it must be cut (TEI's `truncation_direction`, Cohere's `truncate`). */
export type TruncationDirection = 'right' | 'left';

/**
 * How a text longer than its model takes is handled: cut at one end (the
 * default: the end), refused, or embedded whole in `windows`.
 */
export interface TextTruncation {
  readonly direction?: TruncationDirection;
  /** false: a text too long for the model is refused rather than cut (TEI's `truncate: false`, Cohere's `NONE`). Default true. */
  readonly truncate?: boolean;
  /** Most tokens a text keeps, special tokens included, when fewer than the model takes (Cohere's `max_tokens`). */
  readonly maxTokens?: number;
  /** Present: a text too long for the model is not cut but embedded in windows of the model's length (`long_text: pool | chunks`). */
  readonly windows?: TextWindows;
}

/**
 * How a long text is embedded whole: in windows of the model's length,
 * neighbours sharing `overlap` tokens; each window answered too when
 * `chunks`; a text of more than `maxTextTokens` tokens refused.
 */
export interface TextWindows {
  readonly overlap: number;
  readonly chunks: boolean;
  readonly maxTextTokens: number;
  /** Characters of the model's prompt before each text: a window's place is given in the caller's text, without them. */
  readonly promptLength?: number;
}

/**
 * The `[start, end)` token ranges of windows of `room` tokens over `length`
 * tokens, each sharing `overlap` tokens with the one before (`overlap` <
 * `room`); a single range when the tokens fit.
 */
export function windowRanges(length: number, room: number, overlap: number): { start: number; end: number }[] {
  const step = room - overlap;
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; ; start += step) {
    const end = Math.min(length, start + room);
    ranges.push({ start, end });
    if (end >= length) return ranges;
  }
}

/** The most tokens a text keeps, special tokens included: the model's limit, or the request's when lower. */
export function tokenLimit(modelMaxTokens: number, { maxTokens }: TextTruncation): number {
  return maxTokens === undefined ? modelMaxTokens : Math.min(modelMaxTokens, maxTokens);
}

/** `tokens` cut to `keep`, from the end (`right`) or the start (`left`). */
export function cut<T>(tokens: readonly T[], keep: number, direction: TruncationDirection = 'right'): readonly T[] {
  if (tokens.length <= keep) return tokens;
  return direction === 'right' ? tokens.slice(0, keep) : tokens.slice(tokens.length - keep);
}

/**
 * A text's tokens fitted to `room` as `truncation` says: cut at its end or
 * start (`dropped` says how many went), or refused with a `ValidationError`
 * at `path` that names the model's limit (`maxTokens`, special tokens included).
 */
export function fitText<T>(
  tokens: readonly T[],
  room: number,
  { direction, truncate = true }: TextTruncation,
  limit: { model: string; maxTokens: number; path: string },
): { readonly kept: readonly T[]; readonly dropped: number } {
  if (!truncate && tokens.length > room) {
    const message = `this text takes ${tokens.length + limit.maxTokens - room} tokens; model '${limit.model}' takes at most ${limit.maxTokens} (truncation cuts it)`;
    throw new ValidationError(`A text is too long for model '${limit.model}'.`, [{ path: limit.path, message }]);
  }
  return { kept: cut(tokens, room, direction), dropped: Math.max(0, tokens.length - room) };
}
