import { describe, expect, it } from 'vitest';
import type { StoreBudget } from '../../src/ports/store-budget.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A store command that answers after `ms`, or (without `ms`) a stalled one that never does. */
const answering = (ms?: number) => () => (ms === undefined ? new Promise<string>(() => undefined) : sleep(ms).then(() => 'answer'));
const timedOut = { name: 'TimeoutError' };

/**
 * What every `StoreBudget` adapter promises, run against each one. Times
 * are tens of milliseconds and the bounds loose: what is checked is which
 * commands run and fail, and that a request's failures do not add up.
 */
export function storeBudgetContract(name: string, make: () => StoreBudget): void {
  describe(`StoreBudget contract: ${name}`, () => {
    it('outside any allotment, times each command alone, by its cap', async () => {
      const budget = make();
      const started = performance.now();
      await expect(budget.charge(60, answering())).rejects.toMatchObject(timedOut);
      expect(performance.now() - started).toBeGreaterThanOrEqual(55);
      await expect(budget.charge(60, answering())).rejects.toMatchObject(timedOut);
      expect(await budget.charge(60, answering(5))).toBe('answer');
    });

    it('gives all the commands of one work one allotment: after the first stalls it out, the rest fail at once, unstarted', async () => {
      const budget = make();
      let started = 0;
      const stalled = () => {
        started++;
        return answering()();
      };
      const outcomes: string[] = [];
      const began = performance.now();
      await budget.allot(80, async () => {
        for (let i = 0; i < 3; i++) outcomes.push(await budget.charge(1_000, stalled).catch((error: Error) => error.name));
      });
      expect(outcomes).toEqual(['TimeoutError', 'TimeoutError', 'TimeoutError']);
      expect(started).toBe(1);
      expect(performance.now() - began).toBeLessThan(500);
    });

    it('charges only the time spent waiting on commands, not the time the work waits on purpose', async () => {
      const budget = make();
      const answers = await budget.allot(300, async () => {
        const first = await budget.charge(1_000, answering(30));
        await sleep(400);
        return [first, await budget.charge(1_000, answering(30))];
      });
      expect(answers).toEqual(['answer', 'answer']);
    });

    it('charges commands that run at the same time for their overlap once', async () => {
      const budget = make();
      // Charged once each, the three would spend 450 ms of the 400.
      const answers = await budget.allot(400, async () => {
        const together = await Promise.all([1, 2, 3].map(() => budget.charge(1_000, answering(150))));
        return [...together, await budget.charge(1_000, answering(100))];
      });
      expect(answers).toEqual(['answer', 'answer', 'answer', 'answer']);
    });

    it('lets a command run no longer than its cap, even with more of the allotment left', async () => {
      const budget = make();
      const began = performance.now();
      await budget.allot(5_000, async () => {
        await expect(budget.charge(60, answering())).rejects.toMatchObject(timedOut);
      });
      expect(performance.now() - began).toBeLessThan(1_000);
    });

    it('no longer limits what the work started once the work has ended', async () => {
      const budget = make();
      let later: Promise<string> | undefined;
      await budget.allot(50, async () => {
        await budget.charge(1_000, answering()).catch(() => undefined);
        // Something the request set going that outlives it (a batch it kicked off, a webhook).
        later = sleep(20).then(() => budget.charge(1_000, answering(10)));
      });
      await expect(later).resolves.toBe('answer');
    });

    it('gives nested work its own allotment', async () => {
      const budget = make();
      const outcome = await budget.allot(40, async () => {
        await budget.charge(1_000, answering()).catch(() => undefined);
        return budget.allot(1_000, () => budget.charge(1_000, answering(10)));
      });
      expect(outcome).toBe('answer');
    });

    it('passes a failing command’s own error through', async () => {
      const budget = make();
      const refused = new Error('OOM command not allowed');
      await expect(budget.allot(1_000, () => budget.charge(1_000, () => Promise.reject(refused)))).rejects.toBe(refused);
    });
  });
}
