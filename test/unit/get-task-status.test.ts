import { describe, expect, it } from 'vitest';
import { MemoryTaskEvents } from '../../src/adapters/memory/memory-task-events.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { GetTaskStatus } from '../../src/application/embeddings/get-task-status.js';
import { newTask } from '../../src/domain/index.js';

/** Attempts a task may have, as the worker passes them. */
const MAX_ATTEMPTS = 3;

describe('GetTaskStatus', () => {
  const setup = async () => {
    const store = new MemoryTaskStore({ ttlSeconds: 60, maxTasks: 10 });
    const events = new MemoryTaskEvents();
    await store.create(newTask({ id: 't', model: 'm', inputs: ['x'], priority: 0, now: new Date() }));
    return { store, events, status: new GetTaskStatus(store, events) };
  };

  it('ends a long poll as soon as the caller stops waiting, even when it had stopped before the poll began', async () => {
    const { status, events } = await setup();
    const gone = new AbortController();
    gone.abort();
    // With a minute to wait, only the abort can end this within the test's timeout.
    await expect(status.execute('t', { waitMs: 60_000, signal: gone.signal })).resolves.toMatchObject({ status: 'queued' });
    const leaving = new AbortController();
    const polling = status.execute('t', { waitMs: 60_000, signal: leaving.signal });
    leaving.abort();
    await expect(polling).resolves.toMatchObject({ status: 'queued' });
    expect(events.watched).toBe(0);
  });

  it('returns the finished task when its announcement comes', async () => {
    const { status, store, events } = await setup();
    const polling = status.execute('t', { waitMs: 60_000 });
    await store.markRunning('t', new Date(), MAX_ATTEMPTS);
    await store.markSucceeded('t', { vectors: [Float32Array.of(1)], dimensions: 1, usage: { promptTokens: 1, totalTokens: 1 } }, new Date());
    await events.announceFinished('t');
    await expect(polling).resolves.toMatchObject({ status: 'succeeded' });
  });
});
