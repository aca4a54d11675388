import type { Allowance } from '../../domain/index.js';
import type { RateLimiter, Take } from '../../ports/rate-limiter.js';

/** A count and the time left in its window: what rate-limiter-flexible's limiters report. */
interface WindowCount {
  readonly consumedPoints: number;
  readonly msBeforeNext: number;
}

/**
 * What this module needs of one rate-limiter-flexible limiter (memory or
 * Redis), described by shape, so that shared code imports no package. Such a
 * limiter refuses by rejecting with its count, not with an `Error`.
 */
export interface WindowCounter {
  consume(key: string, points: number): Promise<WindowCount>;
  reward(key: string, points: number): Promise<unknown>;
  get(key: string): Promise<WindowCount | null>;
}

/**
 * `RateLimiter` over rate-limiter-flexible's fixed windows, whichever store
 * holds the counts. A limiter of that library is made for one limit, so one
 * is made per distinct limit (a handful: the default and the keys' own), all
 * counting in the same keys. A refused take is given back at once, so that
 * it takes nothing; for the instant between the two, a concurrent take may be
 * refused that would have been granted, never the other way round.
 */
export class FixedWindowLimiter implements RateLimiter {
  private readonly counters = new Map<number, WindowCounter>();

  constructor(
    private readonly counterFor: (limit: number) => WindowCounter,
    private readonly windowMs: number,
  ) {}

  async take(bucket: string, amount: number, limit: number): Promise<Take> {
    const counter = this.counter(limit);
    let count: WindowCount;
    try {
      count = await counter.consume(bucket, amount);
    } catch (outcome) {
      if (outcome instanceof Error) throw outcome;
      const refused = outcome as WindowCount;
      await counter.reward(bucket, amount);
      return { granted: false, allowance: this.allowance(limit, refused.consumedPoints - amount, refused.msBeforeNext) };
    }
    return { granted: true, allowance: this.allowance(limit, count.consumedPoints, count.msBeforeNext) };
  }

  async peek(bucket: string, limit: number): Promise<Allowance> {
    const count = await this.counter(limit).get(bucket);
    return count ? this.allowance(limit, count.consumedPoints, count.msBeforeNext) : { limit, remaining: limit, resetMs: this.windowMs };
  }

  async close(): Promise<void> {}

  private counter(limit: number): WindowCounter {
    let counter = this.counters.get(limit);
    if (!counter) {
      counter = this.counterFor(limit);
      this.counters.set(limit, counter);
    }
    return counter;
  }

  private allowance(limit: number, consumed: number, msBeforeNext: number): Allowance {
    // A key without expiry (-1) cannot come from these limiters; count it as a whole window left.
    const resetMs = msBeforeNext > 0 ? Math.min(msBeforeNext, this.windowMs) : this.windowMs;
    return { limit, remaining: Math.min(limit, Math.max(0, limit - consumed)), resetMs };
  }
}
