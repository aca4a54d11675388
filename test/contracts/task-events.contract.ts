import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvents } from '../../src/ports/task-events.js';

export interface EventsHarness {
  /** A client of the same channel, as another process would open; resolves once it can receive. */
  connect(): Promise<TaskEvents>;
  cleanup(): Promise<void>;
}

/** Whether `promise` has resolved yet, readable at any moment. */
function track(promise: Promise<void>): { readonly done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

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
      await Promise.all([first.finished, second.finished]);
    });

    /**
     * Announcements reach a client in the order they were made: once a fresh
     * task's announcement has woken its watch on `api`, every earlier
     * announcement has had its chance to wake the watch under test.
     */
    async function flush(): Promise<void> {
      const id = randomUUID();
      const marker = api.watch(id);
      await marker.ready;
      await worker.announceFinished(id);
      await marker.finished;
    }

    it('does not wake the watch of another task', async () => {
      const watch = api.watch(randomUUID());
      await watch.ready;
      const woken = track(watch.finished);
      await worker.announceFinished(randomUUID());
      await flush();
      expect(woken.done).toBe(false);
      watch.cancel();
    });

    it('does not replay an announcement made before the watch began', async () => {
      const id = randomUUID();
      await worker.announceFinished(id);
      await flush();
      const watch = api.watch(id);
      await watch.ready;
      const woken = track(watch.finished);
      await flush();
      expect(woken.done).toBe(false);
      watch.cancel();
    });
  });
}
