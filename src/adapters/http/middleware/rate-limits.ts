import type { Context, MiddlewareHandler } from 'hono';
import { RateLimitExceededError, type Allowance, type RateLimitStatus } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';

/**
 * Takes one request from the caller's allowance before the body is read,
 * and puts OpenAI's `x-ratelimit-*` headers on every answer, a 429 included,
 * so that clients (OpenAI's SDKs among them) can pace themselves.
 *
 * Two steps, because Hono answers an error at the level of the middleware
 * that threw it: the headers are written by the outer step, once the answer,
 * whichever it is, exists.
 */
export function enforceRateLimits(limits: HttpUseCases['rateLimits']): MiddlewareHandler<HttpEnv>[] {
  const writeHeaders: MiddlewareHandler<HttpEnv> = async (c, next) => {
    await next();
    const refused = c.error instanceof RateLimitExceededError ? c.error.status : {};
    write(c, { ...c.get('rateLimits'), ...refused });
  };
  const admit: MiddlewareHandler<HttpEnv> = async (c, next) => {
    c.set('rateLimits', await limits.admitRequest(c.get('principal')));
    await next();
  };
  return [writeHeaders, admit];
}

function write(c: Context<HttpEnv>, status: RateLimitStatus): void {
  for (const kind of ['requests', 'tokens'] as const) {
    const allowance = status[kind];
    if (!allowance) continue;
    c.res.headers.set(`x-ratelimit-limit-${kind}`, String(allowance.limit));
    c.res.headers.set(`x-ratelimit-remaining-${kind}`, String(allowance.remaining));
    c.res.headers.set(`x-ratelimit-reset-${kind}`, duration(allowance));
  }
}

/** A time in OpenAI's (Go's) notation: `20ms`, `1.5s`, `6m0s`. */
function duration({ resetMs }: Allowance): string {
  const ms = Math.max(0, Math.round(resetMs));
  if (ms < 1000) return `${ms}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
