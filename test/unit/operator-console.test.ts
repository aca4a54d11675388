import { describe, expect, it, vi } from 'vitest';
import { MemoryModelCatalog } from '../../src/adapters/memory/memory-model-catalog.js';
import { MemoryBroker, MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';
import { OperatorConsole } from '../../src/application/operations/operator-console.js';
import { newTask, toMessage } from '../../src/domain/index.js';
import type { WorkerBeat } from '../../src/ports/worker-registry.js';

function setup() {
  let now = Date.parse('2026-11-26T12:00:00Z');
  const clock = { now: () => new Date(now) };
  const registry = new MemoryWorkerRegistry(() => now);
  const queue = new MemoryTaskQueue(new MemoryBroker(100));
  const store = new MemoryTaskStore({ ttlSeconds: 3600, maxTasks: 100, now: () => now });
  const operator = new OperatorConsole(new MemoryModelCatalog([{ id: 'm', kind: 'embedding', engine: 'onnx' }], 'm'), queue, store, registry, clock, {
    sampleMs: 1000,
    historyMs: 60_000,
  });
  const beat = (done: number, failed: number, inFlight: number): WorkerBeat => ({
    workerId: 'w1',
    host: 'h',
    pid: 7,
    models: ['m'],
    startedAt: new Date(now - 60_000),
    reportedAt: new Date(now - 1_500),
    activity: { m: { done, failed, inFlight, waitP50Ms: 4, waitP95Ms: 9 } },
  });
  const advance = (ms: number) => (now += ms);
  const enqueue = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const task = newTask({ id: `t${now}-${i}`, model: 'm', inputs: ['x'], priority: 0, now: new Date(now) });
      await store.create(task);
      await queue.publish(toMessage(task));
    }
  };
  return { operator, registry, beat, advance, enqueue };
}

describe('OperatorConsole', () => {
  it('derives the rates from two samples: done and failed from the workers, submitted from what was finished plus the backlog’s growth', async () => {
    const { operator, registry, beat, advance, enqueue } = setup();
    await registry.heartbeat(beat(100, 2, 1), 30);
    await enqueue(3);
    const first = (await operator.overview()).snapshot.models[0]!;
    expect(first).toMatchObject({ done: 100, failed: 2, inFlight: 1, workers: 1, queue: { ready: 3, consumers: 0, deadLettered: 0 }, donePerSecond: undefined });

    advance(10_000);
    await registry.heartbeat(beat(140, 3, 2), 30);
    await enqueue(5);
    const { snapshot, history } = await operator.overview();
    const model = snapshot.models[0]!;
    // 40 done and 1 failed in 10 s; the backlog (ready + in flight) grew from 4 to 10.
    expect(model.donePerSecond).toBeCloseTo(4);
    expect(model.failedPerSecond).toBeCloseTo(0.1);
    expect(model.submittedPerSecond).toBeCloseTo(4.7);
    expect(model).toMatchObject({ waitP50Ms: 4, waitP95Ms: 9, oldestWaitingSeconds: 10 });
    expect(snapshot.workers[0]).toMatchObject({ pid: 7, uptimeSeconds: 60, beatAgeSeconds: 1.5 });
    expect(history.map((p) => p.models.m!.ready)).toEqual([3, 8]);
  });

  it('counts no negative rate when a worker leaves and takes its counts with it', async () => {
    const { operator, registry, beat, advance } = setup();
    await registry.heartbeat(beat(100, 0, 0), 30);
    await operator.overview();
    advance(5_000);
    await registry.remove('w1');
    const model = (await operator.overview()).snapshot.models[0]!;
    expect(model).toMatchObject({ workers: 0, done: 0, donePerSecond: 0, failedPerSecond: 0 });
  });

  it('keeps the charts’ history from start, before any console subscribes', async () => {
    vi.useFakeTimers();
    try {
      const { operator, enqueue } = setup();
      await enqueue(2);
      operator.start();
      await vi.advanceTimersByTimeAsync(3_000);
      operator.close();
      const { history } = await operator.overview();
      // Three samples on the timer, and the one overview() takes itself.
      expect(history.map((p) => p.models.m!.ready)).toEqual([2, 2, 2, 2]);
    } finally {
      vi.useRealTimers();
    }
  });
});
