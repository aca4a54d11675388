import { ValidationError } from './errors.js';

/** Which end of a text loses its tokens when it must be cut (TEI's `truncation_direction`, Cohere's `truncate`). */
export type TruncationDirection = 'right' | 'left';

/**
 * What a model does with a text longer than it reads, unless a request says
 * otherwise (`long_text`): cut it, or refuse it.
 */
export const LONG_TEXT_MODES = ['truncate', 'error'] as const;
export type LongText = (typeof LONG_TEXT_MODES)[number];

/** A request's truncation, its model's `longText` deciding whether to cut when the request does not say. */
export function withLongText(truncation: TextTruncation | undefined, longText: LongText | undefined): TextTruncation | undefined {
  if (truncation?.truncate !== undefined || longText !== 'error') return truncation;
  return { ...truncation, truncate: false };
}

/** How a text longer than its model takes is handled: cut at one end (the default: the end), or refused. */
export interface TextTruncation {
  readonly direction?: TruncationDirection;
  /** false: a text too long for the model is refused rather than cut (TEI's `truncate: false`, Cohere's `NONE`). Default true. */
  readonly truncate?: boolean;
  /** Most tokens a text keeps, special tokens included, when fewer than the model takes (Cohere's `max_tokens`). */
  readonly maxTokens?: number;
}

/** The most tokens a text keeps, special tokens included: the model's limit, or the request's when lower. */
export function tokenLimit(modelMaxTokens: number, { maxTokens }: TextTruncation): number {
  return maxTokens === undefined ? modelMaxTokens : Math.min(modelMaxTokens, maxTokens);
}

/** Whether `truncation` is what a tokenizer set to the model's limit does by itself: cut at the end, at that limit. */
export function cutsAtModelEnd(modelMaxTokens: number, truncation: TextTruncation): boolean {
  return (truncation.direction ?? 'right') === 'right' && truncation.truncate !== false && tokenLimit(modelMaxTokens, truncation) === modelMaxTokens;
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
