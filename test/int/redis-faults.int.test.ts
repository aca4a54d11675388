import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskStore } from '../../src/adapters/redis/redis-task-store.js';
import { command } from '../../src/adapters/redis/connection.js';
import { newTask, ServiceUnavailableError } from '../../src/domain/index.js';
import { redis, requireOrSkip } from '../support/infra.js';
import { deleteKeys, testNamespace } from '../support/namespace.js';
import { startTestService, type TestService } from '../support/service.js';
import { faultProxy, type FaultProxy } from '../support/fault-proxy.js';

/*
 * Redis stalled, not gone: the connection stays open but nothing comes back
 * (CLIENT PAUSE, a swapping host, a silent partition). Each test stalls its
 * own proxy in front of the shared Redis, never Redis itself.
 */

const infra = await requireOrSkip('Redis', await redis());

describe.skipIf(!infra)('a stalled Redis', () => {
  let proxy: FaultProxy;
  const namespace = testNamespace('stall');
  beforeAll(async () => {
    const { hostname, port } = new URL(infra!.url);
    proxy = await faultProxy({ host: hostname, port: Number(port) });
  });
  afterAll(async () => {
    await proxy.close();
    await deleteKeys(infra!.url, namespace.keyPrefix);
  });

  it('fails a store command after the command timeout, then works again once Redis answers', async () => {
    const store = new RedisTaskStore({ host: '127.0.0.1', port: proxy.port, keyPrefix: namespace.keyPrefix, ttlSeconds: 60, commandTimeoutMs: 300 });
    try {
      await store.ping();
      proxy.stall();
      const started = performance.now();
      await expect(store.get('anything')).rejects.toBeInstanceOf(ServiceUnavailableError);
      expect(performance.now() - started).toBeLessThan(1_500);
      await proxy.resume();
      const task = newTask({ id: 'after-the-stall', model: 'm', inputs: ['x'], priority: 0, now: new Date() });
      await store.create(task);
      expect(await store.get(task.id)).toMatchObject({ id: task.id });
    } finally {
      await proxy.resume();
      await store.close();
    }
  });

  describe('through the HTTP API', () => {
    let t: TestService;
    beforeAll(async () => {
      t = await startTestService({
        env: {
          STORE_DRIVER: 'redis',
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(proxy.port),
          REDIS_KEY_PREFIX: namespace.keyPrefix,
          REDIS_COMMAND_TIMEOUT_MS: '500',
        },
      });
      await t.service.modelsSettled;
    });
    afterAll(async () => {
      await proxy.resume();
      await t.stop();
    });

    it('answers 503 with Retry-After within a couple of seconds, on every route that needs the store, never hanging', async () => {
      expect((await t.post('/v1/embeddings/tasks', { input: 'before' })).status).toBe(202);
      proxy.stall();
      try {
        for (const send of [
          () => t.post('/v1/embeddings/tasks', { input: 'during' }),
          () => t.get('/v1/embeddings/tasks/some-id'),
          () => t.post('/v1/embeddings', { input: 'during' }),
        ]) {
          const started = performance.now();
          const response = await send();
          expect(response.status).toBe(503);
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(performance.now() - started).toBeLessThan(3_000);
        }
        const ready = await t.get('/health/ready');
        expect(ready.status).toBe(503);
      } finally {
        await proxy.resume();
      }
      expect((await t.post('/v1/embeddings/tasks', { input: 'after' })).status).toBe(202);
    });
  });
});

describe('Redis errors', () => {
  it('maps an out-of-memory reply to ServiceUnavailableError, with a retry hint', async () => {
    const ready = { status: 'ready' } as Parameters<typeof command>[0];
    const oom = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' });
    const failure = await command(ready, () => Promise.reject(oom)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServiceUnavailableError);
    expect((failure as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
    expect((failure as Error).message).toMatch(/OOM/);
  });
});
