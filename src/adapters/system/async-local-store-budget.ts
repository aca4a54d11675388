import { AsyncLocalStorage } from 'node:async_hooks';
import type { StoreBudget } from '../../ports/store-budget.js';

/**
 * The store time of one unit of work, as wall-clock time during which at
 * least one of its commands was waiting. Once its work has ended it limits
 * nothing: work it started that outlives it (a batch it kicked off, a
 * webhook) is not cut short by a request that has already been answered.
 */
class Allotment {
  private spentMs = 0;
  private waiting = 0;
  private waitingSince = 0;
  ended = false;

  constructor(private readonly ms: number) {}

  leftMs(now: number): number {
    return this.ms - this.spentMs - (this.waiting > 0 ? now - this.waitingSince : 0);
  }

  begin(now: number): void {
    if (this.waiting++ === 0) this.waitingSince = now;
  }

  end(now: number): void {
    if (--this.waiting === 0) this.spentMs += now - this.waitingSince;
  }
}

/** A `StoreBudget` that follows each unit of work through Node's async context. */
export class AsyncLocalStoreBudget implements StoreBudget {
  private readonly current = new AsyncLocalStorage<Allotment>();

  async allot<T>(ms: number, work: () => Promise<T>): Promise<T> {
    const allotment = new Allotment(ms);
    try {
      return await this.current.run(allotment, work);
    } finally {
      allotment.ended = true;
    }
  }

  async charge<T>(capMs: number, command: () => Promise<T>): Promise<T> {
    const found = this.current.getStore();
    const allotment = found && !found.ended ? found : undefined;
    const started = performance.now();
    const allowedMs = Math.min(capMs, allotment?.leftMs(started) ?? capMs);
    // Timers keep whole milliseconds, and may fire a fraction early: less than one left is none.
    if (allowedMs < 1) throw timeout('this request has spent its store time');
    allotment?.begin(started);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const running = command();
      // Whatever the command does after the deadline, nobody waits for it.
      running.catch(() => undefined);
      return await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(timeout(`no answer from the store within ${Math.round(allowedMs)} ms`)), allowedMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      allotment?.end(performance.now());
    }
  }
}

function timeout(message: string): Error {
  return new DOMException(message, 'TimeoutError');
}
