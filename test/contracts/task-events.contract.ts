import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvents } from '../../src/ports/task-events.js';
import { sleep } from '../support/wait.js';

export interface EventsHarness {
  /** A client of the same channel, as another process would open; resolves once it can receive. */
  connect(): Promise<TaskEvents>;
  cleanup(): Promise<void>;
}

const pending = Symbol('pending');
const settledWithin = (promise: Promise<void>, ms: number) =>
  Promise.race([promise.then(() => 'finished' as const), sleep(ms).then(() => pending)]);

/** What every `TaskEvents` adapter promises, run against each one. */
export function taskEventsContract(name: string, makeHarness: () => Promise<EventsHarness>): void {
  describe(`TaskEvents contract: ${name}`, () => {
    let harness: EventsHarness;
    let api: TaskEvents;
    let worker: TaskEvents;

    beforeEach(async () => {
      harness = await makeHarness();
      api = await harness.connect();
      worker = await harness.connect();
    });
    afterEach(async () => {
      await api.close();
      if (worker !== api) await worker.close();
      await harness.cleanup();
    });

    it('wakes every watch of a task when another client announces it finished', async () => {
      const id = randomUUID();
      const first = api.watch(id);
      const second = api.watch(id);
      await Promise.all([first.ready, second.ready]);
      await worker.announceFinished(id);
      expect(await settledWithin(first.finished, 2_000)).toBe('finished');
      expect(await settledWithin(second.finished, 2_000)).toBe('finished');
    });

    it('does not wake the watch of another task', async () => {
      const watch = api.watch(randomUUID());
      await watch.ready;
      await worker.announceFinished(randomUUID());
      expect(await settledWithin(watch.finished, 200)).toBe(pending);
      watch.cancel();
    });

    it('does not replay an announcement made before the watch began', async () => {
      const id = randomUUID();
      await worker.announceFinished(id);
      await sleep(100);
      const watch = api.watch(id);
      expect(await settledWithin(watch.finished, 200)).toBe(pending);
      watch.cancel();
    });
  });
}
