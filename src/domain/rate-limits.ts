/** How much one caller may use per minute; an absent field is no limit. */
export interface RateLimits {
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
}

/** Which per-minute allowance of a caller a figure is about. */
export type RateLimitKind = 'requests' | 'tokens';

/** One allowance as it stands: how much the window grants, how much is left, and when it starts afresh. */
export interface Allowance {
  readonly limit: number;
  readonly remaining: number;
  readonly resetMs: number;
}

/** A caller's allowances after a request; a kind without a limit is absent. */
export type RateLimitStatus = Partial<Readonly<Record<RateLimitKind, Allowance>>>;

/**
 * What a request costs against a tokens-per-minute limit, known before any
 * model has seen it: a token-id input counts its ids, a text a token for
 * every 4 characters (OpenAI's rule of thumb for English), and at least one.
 * The usage a result reports is the model's own count, which may differ.
 */
export function estimateTokens(inputs: readonly (string | readonly number[])[]): number {
  return inputs.reduce((sum, input) => sum + (typeof input === 'string' ? Math.max(1, Math.ceil(input.length / 4)) : input.length), 0);
}
