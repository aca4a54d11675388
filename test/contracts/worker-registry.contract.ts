import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkerBeat, WorkerRegistry } from '../../src/ports/worker-registry.js';
import { waitFor } from '../support/wait.js';

export interface RegistryHarness {
  /** A client of the same registry, as another process would open. */
  connect(): Promise<WorkerRegistry>;
  cleanup(): Promise<void>;
}

/** What every `WorkerRegistry` adapter promises, run against each one. */
export function workerRegistryContract(name: string, makeHarness: () => Promise<RegistryHarness>): void {
  describe(`WorkerRegistry contract: ${name}`, () => {
    let harness: RegistryHarness;
    let worker: WorkerRegistry;
    let api: WorkerRegistry;
    const beat = (models: string[]): WorkerBeat => ({
      workerId: randomUUID(),
      host: 'host-a',
      models,
      startedAt: new Date('2026-05-06T07:08:09.000Z'),
      pid: 4242,
      rssBytes: 312_000_000,
      reportedAt: new Date('2026-05-06T08:00:00.500Z'),
      throughput: Object.fromEntries(models.map((m) => [m, 12.5])),
      activity: Object.fromEntries(models.map((m) => [m, { done: 10, failed: 1, inFlight: 2, waitP50Ms: 3.5, inferenceP95Ms: 40, meanBatchSize: 7.25 }])),
    });

    beforeEach(async () => {
      harness = await makeHarness();
      worker = await harness.connect();
      api = await harness.connect();
    });
    afterEach(async () => {
      await worker.close();
      if (api !== worker) await api.close();
      await harness.cleanup();
    });

    it('shows a heartbeat to every client, as it was sent', async () => {
      const b = beat(['m1', 'm2']);
      await worker.heartbeat(b, 30);
      expect(await api.live()).toEqual([b]);
    });

    it('keeps the latest heartbeat of a worker', async () => {
      const b = beat(['m1']);
      await worker.heartbeat(b, 30);
      await worker.heartbeat({ ...b, models: ['m1', 'm3'] }, 30);
      expect((await api.live()).map((x) => x.models)).toEqual([['m1', 'm3']]);
    });

    it('forgets a worker whose heartbeat expired', async () => {
      await worker.heartbeat(beat(['m1']), 1);
      expect(await api.live()).toHaveLength(1);
      await waitFor(async () => (await api.live()).length === 0, 3_000, 'the heartbeat to expire');
    });

    it('forgets a worker that leaves', async () => {
      const b = beat(['m1']);
      await worker.heartbeat(b, 30);
      await worker.remove(b.workerId);
      expect(await api.live()).toEqual([]);
    });
  });
}
