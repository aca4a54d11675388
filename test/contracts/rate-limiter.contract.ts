import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from '../../src/ports/rate-limiter.js';

export interface RateLimiterHarness {
  /** A client of the same counts, as another API replica would open; windows last `windowSeconds`. */
  connect(windowSeconds: number): Promise<RateLimiter>;
  cleanup(): Promise<void>;
}

/** What every `RateLimiter` adapter promises, run against each one. */
export function rateLimiterContract(name: string, makeHarness: () => Promise<RateLimiterHarness>): void {
  describe(`RateLimiter contract: ${name}`, () => {
    let harness: RateLimiterHarness;
    const opened: RateLimiter[] = [];
    const connect = async (windowSeconds = 60) => {
      const limiter = await harness.connect(windowSeconds);
      opened.push(limiter);
      return limiter;
    };
    const bucket = () => `bucket-${randomUUID().slice(0, 8)}`;

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((l) => l.close()));
      await harness.cleanup();
    });

    it('grants takes up to the limit, counting down, then refuses with the time left in the window', async () => {
      const limiter = await connect(60);
      const b = bucket();
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        const take = await limiter.take(b, 1, 3);
        expect(take.granted).toBe(true);
        remaining.push(take.allowance.remaining);
      }
      expect(remaining).toEqual([2, 1, 0]);
      const refused = await limiter.take(b, 1, 3);
      expect(refused.granted).toBe(false);
      expect(refused.allowance).toMatchObject({ limit: 3, remaining: 0 });
      expect(refused.allowance.resetMs).toBeGreaterThan(55_000);
      expect(refused.allowance.resetMs).toBeLessThanOrEqual(60_000);
    });

    it('takes nothing when it refuses, so a smaller take that fits is still granted', async () => {
      const limiter = await connect();
      const b = bucket();
      expect((await limiter.take(b, 7, 10)).allowance.remaining).toBe(3);
      const refused = await limiter.take(b, 5, 10);
      expect(refused).toMatchObject({ granted: false, allowance: { remaining: 3 } });
      expect(await limiter.peek(b, 10)).toMatchObject({ remaining: 3 });
      expect(await limiter.take(b, 3, 10)).toMatchObject({ granted: true, allowance: { remaining: 0 } });
    });

    it('never grants more than the limit in a window, however many clients take at once', async () => {
      const [a, b] = [await connect(), await connect()];
      const shared = bucket();
      const takes = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).take(shared, 1, 20)));
      expect(takes.filter((t) => t.granted)).toHaveLength(20);
      expect(await a.peek(shared, 20)).toMatchObject({ remaining: 0 });
    });

    it('keeps buckets apart, and shows an untouched one with its whole limit without taking from it', async () => {
      const limiter = await connect(60);
      const [b1, b2] = [bucket(), bucket()];
      await limiter.take(b1, 5, 5);
      expect(await limiter.peek(b2, 5)).toEqual({ limit: 5, remaining: 5, resetMs: 60_000 });
      expect(await limiter.peek(b2, 5)).toMatchObject({ remaining: 5 });
      expect(await limiter.take(b2, 5, 5)).toMatchObject({ granted: true });
      expect(await limiter.take(b1, 1, 5)).toMatchObject({ granted: false });
    });

    it('starts a bucket afresh once its window has passed', async () => {
      const limiter = await connect(1);
      const b = bucket();
      await limiter.take(b, 2, 2);
      const refused = await limiter.take(b, 1, 2);
      expect(refused.granted).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, refused.allowance.resetMs + 50));
      expect(await limiter.take(b, 1, 2)).toMatchObject({ granted: true, allowance: { remaining: 1 } });
    });
  });
}
