import {
  RateLimitExceededError,
  type Allowance,
  type Principal,
  type RateLimitKind,
  type RateLimits,
  type RateLimitStatus,
} from '../../domain/index.js';
import type { RateLimiter } from '../../ports/rate-limiter.js';

/** Whose allowance an unnamed caller draws on: on an open service, everyone shares one. */
const ANONYMOUS = '(anonymous)';

/**
 * Per-key requests and tokens per minute, OpenAI's two limits: every API
 * request takes one request, and a request for embeddings also takes its
 * estimated tokens. A key with limits of its own has those; with no keys
 * configured, all callers share the defaults. A kind with no limit costs
 * nothing (no call to the limiter) and is left out of the status.
 *
 * A refusal is `RateLimitExceededError`, carrying the status for the
 * answer's headers and, when waiting can help, when to retry.
 */
export class EnforceRateLimits {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly defaults: RateLimits,
  ) {}

  /** Takes one request from the caller's allowance; also reports its tokens. */
  async admitRequest(caller: Principal | undefined): Promise<RateLimitStatus> {
    const { requestsPerMinute, tokensPerMinute } = this.limitsOf(caller);
    const bucket = caller?.name ?? ANONYMOUS;
    const [requests, tokens] = await Promise.all([
      requestsPerMinute === undefined ? undefined : this.limiter.take(`requests:${bucket}`, 1, requestsPerMinute),
      tokensPerMinute === undefined ? undefined : this.limiter.peek(`tokens:${bucket}`, tokensPerMinute),
    ]);
    const status: RateLimitStatus = { ...(requests && { requests: requests.allowance }), ...(tokens && { tokens }) };
    if (requests && !requests.granted) throw refusal('requests', caller, 1, requests.allowance, status);
    return status;
  }

  /** Takes `tokens` from the caller's allowance; the tokens' status, undefined when tokens are not limited. */
  async admitTokens(caller: Principal | undefined, tokens: number): Promise<Allowance | undefined> {
    const { tokensPerMinute } = this.limitsOf(caller);
    if (tokensPerMinute === undefined) return undefined;
    const take = await this.limiter.take(`tokens:${caller?.name ?? ANONYMOUS}`, tokens, tokensPerMinute);
    if (!take.granted) throw refusal('tokens', caller, tokens, take.allowance, { tokens: take.allowance });
    return take.allowance;
  }

  private limitsOf(caller: Principal | undefined): RateLimits {
    return caller?.limits ?? this.defaults;
  }
}

function refusal(kind: RateLimitKind, caller: Principal | undefined, asked: number, allowance: Allowance, status: RateLimitStatus): RateLimitExceededError {
  const who = caller ? `key '${caller.name}'` : 'this service';
  // More than a whole window grants can never be served: no retry helps, so none is suggested.
  if (asked > allowance.limit) {
    return new RateLimitExceededError(
      kind,
      `Request too large: it needs ${asked} ${kind}, and ${who} may use ${allowance.limit} ${kind} per minute. Send fewer or shorter inputs.`,
      undefined,
      status,
    );
  }
  const seconds = Math.max(1, Math.ceil(allowance.resetMs / 1000));
  return new RateLimitExceededError(
    kind,
    `Rate limit reached for ${who} on ${kind} per minute: limit ${allowance.limit}, remaining ${allowance.remaining}, requested ${asked}. Retry after ${seconds} s.`,
    seconds,
    status,
  );
}
