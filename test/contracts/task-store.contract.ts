import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  newTask,
  TaskAlreadyExistsError,
  type EmbeddingResult,
  type Task,
} from '../../src/domain/index.js';
import type { TaskStore } from '../../src/ports/task-store.js';
import { waitFor } from '../support/wait.js';

/** Attempts a task may have, as the worker passes them. */
const MAX_ATTEMPTS = 3;

export interface StoreHarness {
  /** A store whose records live `ttlSeconds`. */
  open(options: { ttlSeconds: number }): Promise<TaskStore>;
  /** Most tasks the store accepts, when bounded that way in this harness. */
  readonly maxTasks?: number;
  cleanup(): Promise<void>;
}

/** What every `TaskStore` adapter promises, run against each one. */
export function taskStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`TaskStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: TaskStore;
    const t0 = new Date('2026-03-04T05:06:07.089Z');
    const later = (ms: number) => new Date(t0.getTime() + ms);
    const task = (fields: Partial<Task> = {}): Task => ({
      ...newTask({ id: randomUUID(), model: 'm', inputs: ['a', 'b c'], priority: 4, now: t0 }),
      ...fields,
    });
    const result: EmbeddingResult = {
      vectors: [Float32Array.of(0.25, -0.5, 1e-7), Float32Array.of(0, 1, -1)],
      dimensions: 3,
      usage: { promptTokens: 7, totalTokens: 7 },
    };

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.open({ ttlSeconds: 3600 });
    });
    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    it('returns a created task as it was given', async () => {
      const created = task();
      await store.create(created);
      expect(await store.get(created.id)).toEqual(created);
    });

    it('keeps a rerank task’s query and cut, and its result rows, to the end', async () => {
      const created = task({ inputs: ['first document', 'second'], inputCount: 2, rerank: { query: 'which one?', maxDocumentTokens: 64, direction: 'left' } });
      await store.create(created);
      expect(await store.get(created.id)).toEqual(created);
      await store.markRunning(created.id, t0, 3);
      const rows = [Float32Array.of(0.75, 1.0986), Float32Array.of(0.25, -1.0986)];
      const done = await store.markSucceeded(created.id, { vectors: rows, dimensions: 2, usage: { promptTokens: 9, totalTokens: 9 }, tokenCounts: [5, 4] }, t0);
      expect(done).toMatchObject({ status: 'succeeded', rerank: created.rerank });
      expect((await store.get(created.id))!.result!.vectors.map((row) => Array.from(row))).toEqual(rows.map((row) => Array.from(row)));
    });

    it('keeps how an embedding task cuts its texts and whether it scales its vectors, and its result’s tokenizing time and tokens cut', async () => {
      const created = task({ truncation: { direction: 'left', truncate: false, maxTokens: 12, windows: { overlap: 3, chunks: true, maxTextTokens: 800 } }, normalize: false });
      await store.create(created);
      expect(await store.get(created.id)).toEqual(created);
      await store.markRunning(created.id, t0, 3);
      const chunks = [[{ vector: Float32Array.of(0.5, -0.25), span: { start: 0, end: 9 }, tokens: 4 }, { vector: Float32Array.of(1, 0), tokens: 2 }]];
      await store.markSucceeded(created.id, { ...result, tokenizationMs: 7, droppedTokens: [0, 12], chunks }, t0);
      const stored = await store.get(created.id);
      expect(stored).toMatchObject({ truncation: created.truncation, normalize: false, result: { tokenizationMs: 7, droppedTokens: [0, 12] } });
      expect(stored!.result!.chunks!.map((list) => list.map(({ vector, ...chunk }) => ({ ...chunk, vector: Array.from(vector) })))).toEqual([
        [
          { vector: [0.5, -0.25], span: { start: 0, end: 9 }, tokens: 4 },
          { vector: [1, 0], tokens: 2 },
        ],
      ]);
    });

    it('returns undefined for an unknown id, from get and from every transition', async () => {
      const id = randomUUID();
      expect(await store.get(id)).toBeUndefined();
      expect(await store.markRunning(id, t0, MAX_ATTEMPTS)).toBeUndefined();
      expect(await store.markSucceeded(id, result, t0)).toBeUndefined();
      expect(await store.markFailed(id, { reason: 'x', kind: 'inference_failed' }, t0)).toBeUndefined();
    });

    it('refuses another task under an existing id', async () => {
      const created = task();
      await store.create(created);
      await expect(store.create({ ...created, model: 'other' })).rejects.toBeInstanceOf(TaskAlreadyExistsError);
      await expect(store.create({ ...created, createdAt: later(1) })).rejects.toBeInstanceOf(TaskAlreadyExistsError);
      expect(await store.get(created.id)).toEqual(created);
    });

    it('creates the same task again without error, as a retried create does, and keeps it as it is', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      await expect(store.create(created)).resolves.toBeUndefined();
      expect(await store.get(created.id)).toMatchObject({ status: 'running', attempts: 1 });
    });

    it('counts one attempt for a start repeated with the same time, as a retried command repeats it', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      expect(await store.markRunning(created.id, later(1), MAX_ATTEMPTS)).toMatchObject({ status: 'running', attempts: 1 });
      expect(await store.markRunning(created.id, later(2), MAX_ATTEMPTS)).toMatchObject({ attempts: 2 });
    });

    it('moves queued → running, counting attempts, and allows running again on redelivery', async () => {
      const created = task();
      await store.create(created);
      const running = await store.markRunning(created.id, later(10), MAX_ATTEMPTS);
      expect(running).toMatchObject({ status: 'running', attempts: 1, startedAt: later(10) });
      const again = await store.markRunning(created.id, later(20), MAX_ATTEMPTS);
      expect(again).toMatchObject({ status: 'running', attempts: 2, startedAt: later(20) });
      expect(await store.get(created.id)).toEqual(again);
    });

    it('never counts an attempt past the most a task may have: a start past it leaves the task as it is', async () => {
      const created = task();
      await store.create(created);
      for (let i = 1; i <= MAX_ATTEMPTS; i++) expect(await store.markRunning(created.id, later(i), MAX_ATTEMPTS)).toMatchObject({ attempts: i, startedAt: later(i) });
      const refused = await store.markRunning(created.id, later(10), MAX_ATTEMPTS);
      expect(refused).toMatchObject({ status: 'running', attempts: MAX_ATTEMPTS, startedAt: later(MAX_ATTEMPTS) });
      expect(await store.get(created.id)).toEqual(refused);
    });

    it('keeps a task’s times in order when a late finish arrives after a newer start', async () => {
      const created = task();
      await store.create(created);
      // A redelivery started it at 20 while an older attempt's result, computed at 10, was still on its way.
      await store.markRunning(created.id, later(10), MAX_ATTEMPTS);
      await store.markRunning(created.id, later(20), MAX_ATTEMPTS);
      const done = await store.markSucceeded(created.id, result, later(15));
      expect(done).toMatchObject({ status: 'succeeded', startedAt: later(20), finishedAt: later(20), attempts: 2 });
      const other = task();
      await store.create(other);
      await store.markRunning(other.id, later(30), MAX_ATTEMPTS);
      expect(await store.markFailed(other.id, { reason: 'late', kind: 'inference_failed' }, later(25))).toMatchObject({ finishedAt: later(30) });
    });

    it('stores the result of a succeeded task, vectors exact', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      const done = await store.markSucceeded(created.id, result, later(2));
      expect(done).toMatchObject({ status: 'succeeded', finishedAt: later(2) });
      const fetched = await store.get(created.id);
      expect(fetched!.result!.dimensions).toBe(3);
      expect(fetched!.result!.usage).toEqual({ promptTokens: 7, totalTokens: 7 });
      expect(fetched!.result!.vectors.map((v) => Array.from(v))).toEqual(result.vectors.map((v) => Array.from(v)));
      expect(fetched!.result!.vectors[0]).toBeInstanceOf(Float32Array);
    });

    it('never changes a succeeded task again', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      const done = await store.markSucceeded(created.id, result, later(2));
      expect(await store.markRunning(created.id, later(3), MAX_ATTEMPTS)).toEqual(done);
      expect(await store.markFailed(created.id, { reason: 'late failure', kind: 'inference_failed' }, later(4))).toEqual(done);
      expect(await store.markSucceeded(created.id, { ...result, dimensions: 9 }, later(5))).toEqual(done);
      expect(await store.get(created.id)).toEqual(done);
    });

    it('records why a task failed, and never changes it again', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      const failed = await store.markFailed(created.id, { reason: 'model exploded', kind: 'inference_failed' }, later(2));
      expect(failed).toMatchObject({ status: 'failed', error: 'model exploded', finishedAt: later(2) });
      expect(failed!.result).toBeUndefined();
      expect(await store.markSucceeded(created.id, result, later(3))).toEqual(failed);
      expect(await store.markRunning(created.id, later(3), MAX_ATTEMPTS)).toEqual(failed);
    });

    it('can fail a task that never started', async () => {
      const created = task();
      await store.create(created);
      expect(await store.markFailed(created.id, { reason: 'poison', kind: 'attempts_exhausted' }, later(1))).toMatchObject({
        status: 'failed',
        failure: 'attempts_exhausted',
      });
    });

    it('drops a task’s inputs once it is final, keeping its result and how many inputs it had', async () => {
      const created = task();
      await store.create(created);
      expect(await store.markRunning(created.id, later(1), MAX_ATTEMPTS)).toMatchObject({ inputs: created.inputs, inputCount: created.inputs.length });
      const done = await store.markSucceeded(created.id, result, later(2));
      expect(done).toMatchObject({ inputs: [], inputCount: created.inputs.length, status: 'succeeded' });
      expect(await store.get(created.id)).toEqual(done);
      const failing = task();
      await store.create(failing);
      expect(await store.markFailed(failing.id, { reason: 'x', kind: 'inference_failed' }, later(1))).toMatchObject({
        inputs: [],
        inputCount: failing.inputs.length,
      });
    });

    it('expires a queued or running task, dropping its inputs, and never a finished one', async () => {
      const queued = task();
      await store.create(queued);
      expect(await store.markExpired(queued.id, 'nobody waits', later(1))).toMatchObject({
        status: 'expired',
        error: 'nobody waits',
        finishedAt: later(1),
        inputs: [],
        inputCount: queued.inputs.length,
      });
      expect(await store.markRunning(queued.id, later(2), MAX_ATTEMPTS)).toMatchObject({ status: 'expired', attempts: 0 });
      expect(await store.markSucceeded(queued.id, result, later(3))).toMatchObject({ status: 'expired' });
      const done = task();
      await store.create(done);
      await store.markRunning(done.id, later(1), MAX_ATTEMPTS);
      const succeeded = await store.markSucceeded(done.id, result, later(2));
      expect(await store.markExpired(done.id, 'too late', later(3))).toEqual(succeeded);
      expect(await store.markExpired('no-such-task', 'x', later(1))).toBeUndefined();
    });

    it('cancels a queued or running task, after which no worker can start or finish it, and never a finished one', async () => {
      const queued = task();
      await store.create(queued);
      expect(await store.markCancelled(queued.id, 'called off', later(1))).toMatchObject({
        status: 'cancelled',
        error: 'called off',
        finishedAt: later(1),
        inputs: [],
      });
      expect(await store.markRunning(queued.id, later(2), MAX_ATTEMPTS)).toMatchObject({ status: 'cancelled', attempts: 0 });
      const running = task();
      await store.create(running);
      await store.markRunning(running.id, later(1), MAX_ATTEMPTS);
      expect(await store.markCancelled(running.id, 'called off', later(2))).toMatchObject({ status: 'cancelled', attempts: 1 });
      // The worker's result comes after the cancel: it is dropped.
      expect(await store.markSucceeded(running.id, result, later(3))).toMatchObject({ status: 'cancelled' });
      expect((await store.get(running.id))!.result).toBeUndefined();
      // Cancelling again changes nothing, not even the time.
      expect(await store.markCancelled(running.id, 'again', later(4))).toMatchObject({ finishedAt: later(2), error: 'called off' });
      const done = task();
      await store.create(done);
      await store.markRunning(done.id, later(1), MAX_ATTEMPTS);
      const failed = await store.markFailed(done.id, { reason: 'x', kind: 'inference_failed' }, later(2));
      expect(await store.markCancelled(done.id, 'too late', later(3))).toEqual(failed);
      expect(await store.markCancelled('no-such-task', 'x', later(1))).toBeUndefined();
    });

    it('lists the latest tasks newest first, by status and model, without those refused at submit', async () => {
      const made = [];
      for (let i = 0; i < 5; i++) {
        const created = task({ model: i % 2 ? 'odd' : 'even', createdAt: later(i * 1000), owner: `owner-${i}` });
        await store.create(created);
        made.push(created);
      }
      await store.markRunning(made[1]!.id, later(10_000), MAX_ATTEMPTS);
      await store.markRunning(made[3]!.id, later(10_000), MAX_ATTEMPTS);
      await store.markSucceeded(made[3]!.id, result, later(11_000));
      await store.refuse(made[4]!.id, 'refused', later(12_000));

      const ids = (tasks: readonly Task[]) => tasks.map((t) => t.id);
      expect(ids(await store.recent({ limit: 3 }))).toEqual([made[3]!.id, made[2]!.id, made[1]!.id]);
      expect(ids(await store.recent({ limit: 10, status: 'queued' }))).toEqual([made[2]!.id, made[0]!.id]);
      expect(ids(await store.recent({ limit: 10, model: 'odd' }))).toEqual([made[3]!.id, made[1]!.id]);
      expect(ids(await store.recent({ limit: 10, model: 'odd', status: 'running' }))).toEqual([made[1]!.id]);
      expect(await store.recent({ limit: 10, status: 'failed' })).toEqual([]);
      const [latest] = await store.recent({ limit: 1 });
      expect(latest).toMatchObject({ status: 'succeeded', model: 'odd', owner: 'owner-3', attempts: 1, inputCount: 2, finishedAt: later(11_000) });
    });

    it('keeps a task’s deadline and owner', async () => {
      const created = { ...task(), deadline: later(30), owner: 'search-backend' };
      await store.create(created);
      expect(await store.get(created.id)).toMatchObject({ deadline: later(30), owner: 'search-backend' });
    });

    it('ends a task refused at submit, holding none of its inputs, so that a message of it that lands later is not run', async () => {
      const created = task();
      await store.create(created);
      await store.refuse(created.id, 'Refused at submit.', later(1));
      const refused = await store.get(created.id);
      expect(refused).toMatchObject({ status: 'cancelled', error: 'Refused at submit.', inputs: [], attempts: 0 });
      expect(await store.markRunning(created.id, later(2), MAX_ATTEMPTS)).toEqual(refused);
      expect(await store.markSucceeded(created.id, result, later(3))).toEqual(refused);
      await expect(store.refuse('never-was', 'refused', later(1))).resolves.toBeUndefined();
      expect(await store.get('never-was')).toBeUndefined();
    });

    it('keeps the fields at fault of a task failed for its input', async () => {
      const created = task();
      await store.create(created);
      const issues = [{ path: 'input[1]', message: 'Token id 99999 is not in the vocabulary' }];
      await store.markFailed(created.id, { reason: 'bad token id', kind: 'invalid_input', issues }, later(1));
      expect(await store.get(created.id)).toMatchObject({ failure: 'invalid_input', issues });
    });

    it('lets exactly one of two racing completions win', async () => {
      const created = task();
      await store.create(created);
      await store.markRunning(created.id, later(1), MAX_ATTEMPTS);
      await Promise.all([
        store.markSucceeded(created.id, result, later(2)),
        store.markFailed(created.id, { reason: 'lost the race', kind: 'inference_failed' }, later(2)),
      ]);
      const final = (await store.get(created.id))!;
      if (final.status === 'succeeded') expect(final.error).toBeUndefined();
      else expect(final).toMatchObject({ status: 'failed', result: undefined });
    });

    it('forgets tasks after their time to live', async () => {
      const shortLived = await harness.open({ ttlSeconds: 1 });
      try {
        const created = task();
        await shortLived.create(created);
        expect(await shortLived.get(created.id)).toBeDefined();
        await waitFor(async () => (await shortLived.get(created.id)) === undefined, 3_000, 'the task to expire');
        expect(await shortLived.markRunning(created.id, later(1), MAX_ATTEMPTS)).toBeUndefined();
      } finally {
        await shortLived.close();
      }
    });

    it('answers ping while open', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('refuses new tasks when full, keeping the ones it has', async (ctx) => {
      if (harness.maxTasks === undefined) ctx.skip();
      const kept = [];
      for (let i = 0; i < harness.maxTasks!; i++) {
        const t = task();
        await store.create(t);
        kept.push(t);
      }
      await expect(store.create(task())).rejects.toBeInstanceOf(CapacityExceededError);
      for (const t of kept) expect(await store.get(t.id)).toBeDefined();
    });
  });
}
