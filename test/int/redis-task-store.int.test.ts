import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisFileStore } from '../../src/adapters/redis/redis-file-store.js';
import { RedisRateLimiter } from '../../src/adapters/redis/redis-rate-limiter.js';
import { RedisTaskEvents } from '../../src/adapters/redis/redis-task-events.js';
import { RedisTaskStore } from '../../src/adapters/redis/redis-task-store.js';
import { RedisWorkerRegistry } from '../../src/adapters/redis/redis-worker-registry.js';
import { workerRegistryContract } from '../contracts/worker-registry.contract.js';
import { newTask, ServiceUnavailableError } from '../../src/domain/index.js';
import { RedisBatchStore } from '../../src/adapters/redis/redis-batch-store.js';
import { batchStoreContract } from '../contracts/batch-store.contract.js';
import { fileStoreContract } from '../contracts/file-store.contract.js';
import { rateLimiterContract } from '../contracts/rate-limiter.contract.js';
import { embeddingCacheContract } from '../contracts/embedding-cache.contract.js';
import { RedisEmbeddingCache } from '../../src/adapters/redis/redis-embedding-cache.js';
import { taskEventsContract } from '../contracts/task-events.contract.js';
import { taskStoreContract } from '../contracts/task-store.contract.js';
import { redis, requireOrSkip } from '../support/infra.js';
import { deleteKeys } from '../support/namespace.js';

/** Attempts a task may have, as the worker passes them. */
const MAX_ATTEMPTS = 3;

const infra = await requireOrSkip('Redis', await redis());
afterAll(async () => {
  await infra?.stop();
});

/** Each harness writes under its own key prefix and deletes it afterwards. */
function harness() {
  const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
  const stores: RedisTaskStore[] = [];
  return {
    keyPrefix,
    open: async ({ ttlSeconds }: { ttlSeconds: number }) => {
      const store = new RedisTaskStore({ url: infra!.url, keyPrefix, ttlSeconds });
      stores.push(store);
      return store;
    },
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await deleteKeys(infra!.url, keyPrefix);
    },
  };
}

describe.skipIf(!infra)('RedisTaskStore', () => {
  taskStoreContract('redis', async () => harness());

  workerRegistryContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async () => new RedisWorkerRegistry({ url: infra!.url, keyPrefix }),
      cleanup: async () => {
        await deleteKeys(infra!.url, keyPrefix);
      },
    };
  });

  fileStoreContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async () => new RedisFileStore({ url: infra!.url, keyPrefix }),
      cleanup: async () => {
        await deleteKeys(infra!.url, keyPrefix);
      },
    };
  });

  batchStoreContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async () => new RedisBatchStore({ url: infra!.url, keyPrefix, retentionMs: 3_600_000 }),
      cleanup: async () => {
        await deleteKeys(infra!.url, keyPrefix);
      },
      // Redis expires a lease on its own clock: the time is waited out.
      elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
  });

  rateLimiterContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async (windowSeconds) => new RedisRateLimiter({ url: infra!.url, keyPrefix, windowSeconds }),
      cleanup: async () => {
        await deleteKeys(infra!.url, keyPrefix);
      },
    };
  });

  embeddingCacheContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async (maxBytes) => new RedisEmbeddingCache({ url: infra!.url, keyPrefix, maxBytes, ttlSeconds: 600 }),
      cleanup: async () => {
        await deleteKeys(infra!.url, keyPrefix);
      },
    };
  });

  it('answers a rate-limit take with ServiceUnavailableError, quickly, when Redis cannot be reached', async () => {
    const limiter = new RedisRateLimiter({ url: 'redis://127.0.0.1:1', keyPrefix: 'test:unreachable:' });
    try {
      const started = Date.now();
      await expect(limiter.take('b', 1, 10)).rejects.toBeInstanceOf(ServiceUnavailableError);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await limiter.close();
    }
  });

  taskEventsContract('redis', async () => {
    const keyPrefix = `test:${randomUUID().slice(0, 8)}:`;
    return {
      connect: async () => {
        const events = new RedisTaskEvents({ url: infra!.url, keyPrefix });
        await events.ready();
        return events;
      },
      cleanup: async () => {},
    };
  });

  it('stores vectors as float32 bytes under the key prefix, and expires records', async () => {
    const h = harness();
    const store = await h.open({ ttlSeconds: 600 });
    const client = new Redis(infra!.url);
    try {
      const task = newTask({ id: randomUUID(), model: 'm', inputs: ['x', 'y'], priority: 0, now: new Date() });
      await store.create(task);
      await store.markRunning(task.id, new Date(), MAX_ATTEMPTS);
      const vectors = [new Float32Array(384).fill(0.5), new Float32Array(384).fill(-0.25)];
      await store.markSucceeded(task.id, { vectors, dimensions: 384, usage: { promptTokens: 4, totalTokens: 4 } }, new Date());

      const key = `${h.keyPrefix}task:${task.id}`;
      const raw = await client.hgetBuffer(key, 'vectors');
      expect(raw!.length).toBe(2 * 384 * 4);
      expect(raw!.readFloatLE(0)).toBe(0.5);
      expect(raw!.readFloatLE(384 * 4)).toBe(-0.25);
      const ttl = await client.ttl(key);
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
    } finally {
      await client.quit();
      await h.cleanup();
    }
  });

  it('answers 503-class errors, not hangs, when Redis cannot be reached', async () => {
    const store = new RedisTaskStore({ host: '127.0.0.1', port: 1, keyPrefix: 'x:', ttlSeconds: 60 });
    try {
      await expect(store.ping()).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(store.get('id')).rejects.toBeInstanceOf(ServiceUnavailableError);
    } finally {
      await store.close();
    }
  });
});
