import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FilesystemFileStore } from '../../src/adapters/filesystem/filesystem-file-store.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryTaskEvents } from '../../src/adapters/memory/memory-task-events.js';
import { MemoryBroker, MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { newTask } from '../../src/domain/index.js';
import { batchStoreContract } from '../contracts/batch-store.contract.js';
import { MemoryBatchStore } from '../../src/adapters/memory/memory-batch-store.js';
import { fileStoreContract } from '../contracts/file-store.contract.js';
import { rateLimiterContract } from '../contracts/rate-limiter.contract.js';
import { embeddingCacheContract } from '../contracts/embedding-cache.contract.js';
import { MemoryEmbeddingCache } from '../../src/adapters/memory/memory-embedding-cache.js';
import { taskEventsContract } from '../contracts/task-events.contract.js';
import { taskQueueContract } from '../contracts/task-queue.contract.js';
import { taskCallerContract } from '../contracts/task-caller.contract.js';
import { taskStoreContract } from '../contracts/task-store.contract.js';
import { workerRegistryContract } from '../contracts/worker-registry.contract.js';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';

const memoryQueues = async () => {
  const broker = new MemoryBroker(20);
  return { connect: async () => new MemoryTaskQueue(broker), maxLength: 20, cleanup: async () => {} };
};
taskQueueContract('memory', memoryQueues);
taskCallerContract('memory', memoryQueues);

taskStoreContract('memory', async () => ({
  open: async ({ ttlSeconds }) => new MemoryTaskStore({ ttlSeconds, maxTasks: 10 }),
  maxTasks: 10,
  cleanup: async () => {},
}));

taskEventsContract('memory', async () => {
  // One process: the API and the worker share the same instance.
  const events = new MemoryTaskEvents();
  return { connect: async () => events, cleanup: async () => {} };
});

workerRegistryContract('memory', async () => {
  const registry = new MemoryWorkerRegistry();
  return { connect: async () => registry, cleanup: async () => {} };
});

rateLimiterContract('memory', async () => {
  // One process: every caller shares the instance (one per window length).
  const limiters = new Map<number, MemoryRateLimiter>();
  return {
    connect: async (windowSeconds) => {
      if (!limiters.has(windowSeconds)) limiters.set(windowSeconds, new MemoryRateLimiter(windowSeconds));
      return limiters.get(windowSeconds)!;
    },
    cleanup: async () => {},
  };
});

embeddingCacheContract('memory', async () => {
  // One process: every caller shares the instance.
  let cache: MemoryEmbeddingCache | undefined;
  return {
    connect: async (maxBytes) => (cache ??= new MemoryEmbeddingCache(maxBytes)),
    cleanup: async () => {},
  };
});

batchStoreContract('memory', async () => {
  // One store, as the embedded mode's processes (there is one) share it, on a clock the test moves.
  let now = Date.now();
  const store = new MemoryBatchStore(3_600_000, () => now);
  return { connect: async () => store, cleanup: async () => undefined, elapse: async (ms) => void (now += ms) };
});

fileStoreContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'files-'));
  return { connect: async () => new FilesystemFileStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('MemoryTaskEvents', () => {
  it('forgets cancelled watches', () => {
    const events = new MemoryTaskEvents();
    const a = events.watch('a');
    const b = events.watch('a');
    a.cancel();
    b.cancel();
    expect(events.watched).toBe(0);
  });
});

describe('MemoryTaskStore', () => {
  it('makes room by dropping expired tasks before refusing new ones', async () => {
    let now = 0;
    const store = new MemoryTaskStore({ ttlSeconds: 10, maxTasks: 2, now: () => now });
    const task = (id: string) => newTask({ id, model: 'm', inputs: ['x'], priority: 0, now: new Date(now) });
    await store.create(task('a'));
    now = 5_000;
    await store.create(task('b'));
    now = 10_500;
    await store.create(task('c'));
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toBeDefined();
    expect(store.size).toBe(2);
  });
});
