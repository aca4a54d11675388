import { describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { newTask } from '../../src/domain/index.js';
import { taskQueueContract } from '../contracts/task-queue.contract.js';
import { taskStoreContract } from '../contracts/task-store.contract.js';

taskQueueContract('memory', async () => {
  const broker = new MemoryBroker(20);
  return { connect: async () => new MemoryTaskQueue(broker), maxLength: 20, cleanup: async () => {} };
});

taskStoreContract('memory', async () => ({
  open: async ({ ttlSeconds }) => new MemoryTaskStore({ ttlSeconds, maxTasks: 10 }),
  maxTasks: 10,
  cleanup: async () => {},
}));

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
