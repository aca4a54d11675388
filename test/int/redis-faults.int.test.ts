import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskStore } from '../../src/adapters/redis/redis-task-store.js';
import { RedisWorkerRegistry } from '../../src/adapters/redis/redis-worker-registry.js';
import { LiveWorkers } from '../../src/application/models/live-workers.js';
import { command } from '../../src/adapters/redis/connection.js';
import { newTask, ServiceUnavailableError } from '../../src/domain/index.js';
import { redis, requireOrSkip } from '../support/infra.js';
import { deleteKeys, testNamespace } from '../support/namespace.js';
import { startTestService, type TestService } from '../support/service.js';
import { faultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { waitFor } from '../support/wait.js';

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

  it('does not report a model’s workers gone after a stall longer than their beats live, though the beats expired meanwhile', async () => {
    // The API's connection is made first, as the API starts before its workers: when the stall ends, its reads
    // sent meanwhile reach Redis before the workers' beats do, and find none live.
    const url = `redis://127.0.0.1:${proxy.port}`;
    const api = new RedisWorkerRegistry({ url, keyPrefix: namespace.keyPrefix, commandTimeoutMs: 300 });
    const worker = new RedisWorkerRegistry({ url, keyPrefix: namespace.keyPrefix, commandTimeoutMs: 300 });
    const live = new LiveWorkers(api, { maxAgeMs: 0, recoveryMs: 3_000 });
    const beat = () => worker.heartbeat({ workerId: 'w', host: 'h', models: ['m'], startedAt: new Date() }, 3).catch(() => undefined);
    await beat();
    const beating = setInterval(beat, 1_000);
    const counts: (number | undefined)[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        counts.push(await live.count('m'));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await waitFor(() => counts.includes(1), 2_000, 'the worker to be seen');
      proxy.stall();
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      await proxy.resume();
      await waitFor(() => counts.lastIndexOf(1) > counts.lastIndexOf(undefined), 6_000, 'the worker to be seen again');
    } finally {
      reading = false;
      await reader;
      clearInterval(beating);
      await proxy.resume();
      await Promise.all([api.close(), worker.close()]);
    }
    // Unknown while Redis was away and just after; never none.
    expect(counts).toContain(undefined);
    expect(counts).not.toContain(0);
  });

  describe('through the HTTP API', () => {
    const TIMEOUT_MS = 500;
    /** What a request may take past REDIS_COMMAND_TIMEOUT_MS during a stall, however many commands it makes. */
    const MARGIN_MS = 500;
    let t: TestService;
    beforeAll(async () => {
      t = await startTestService({
        env: {
          STORE_DRIVER: 'redis',
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(proxy.port),
          REDIS_KEY_PREFIX: namespace.keyPrefix,
          REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS),
          WORKER_HEARTBEAT_SECONDS: '1',
        },
      });
      await t.service.modelsSettled;
    });
    afterAll(async () => {
      await proxy.resume();
      await t.stop();
    });

    const send = (method: string, path: string, body?: string, type = 'application/json') =>
      Promise.resolve(t.service.app.request(path, { method, ...(body !== undefined && { body, headers: { 'content-type': type } }) }));
    const upload = (text: string) => {
      const form = new FormData();
      form.set('purpose', 'batch');
      form.set('file', new File([text], 'requests.jsonl'));
      return Promise.resolve(t.service.app.request('/v1/files', { method: 'POST', body: form }));
    };
    const line = (id: string) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { input: id } });

    it('answers every request that needs the store within one command timeout, 503 with Retry-After, never hanging; the sync route with vectors', async () => {
      // Before the stall: a task, a file and a batch to ask for, and a worker the API can see.
      const task = (await (await send('POST', '/v1/embeddings/tasks', JSON.stringify({ input: 'before' }))).json()) as { id: string };
      const file = (await (await upload(`${line('a')}\n`)).json()) as { id: string };
      const batch = (await (await send('POST', '/v1/batches', JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }))).json()) as { id: string };
      expect([task.id, file.id, batch.id].every(Boolean)).toBe(true);
      await waitFor(async () => ((await (await send('GET', '/v1/models/tiny-bert')).json()) as { live_workers: number }).live_workers > 0, 5_000, 'a live worker');
      // Past the age of the API's view of live workers: the first submission re-reads it, a second store command before its own.
      await new Promise((resolve) => setTimeout(resolve, 1_100));

      const needsTheStore: [string, () => Promise<Response>][] = [
        ['submit', () => send('POST', '/v1/embeddings/tasks', JSON.stringify({ input: 'during' }))],
        ['read a task', () => send('GET', `/v1/embeddings/tasks/${task.id}`)],
        ['long poll', () => send('GET', `/v1/embeddings/tasks/${task.id}?wait=5`)],
        ['cancel a task', () => send('DELETE', `/v1/embeddings/tasks/${task.id}`)],
        ['upload a file', () => upload(`${line('b')}\n`)],
        ['list files', () => send('GET', '/v1/files')],
        ['read a file', () => send('GET', `/v1/files/${file.id}`)],
        ['read a file’s content', () => send('GET', `/v1/files/${file.id}/content`)],
        ['delete a file', () => send('DELETE', `/v1/files/${file.id}`)],
        ['create a batch', () => send('POST', '/v1/batches', JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }))],
        ['list batches', () => send('GET', '/v1/batches')],
        ['read a batch', () => send('GET', `/v1/batches/${batch.id}`)],
        ['cancel a batch', () => send('POST', `/v1/batches/${batch.id}/cancel`)],
      ];
      proxy.stall();
      const answers: string[] = [];
      try {
        for (const [name, request] of needsTheStore) {
          const started = performance.now();
          const response = await request();
          const ms = performance.now() - started;
          const retryAfter = Number(response.headers.get('retry-after'));
          answers.push(`${name}: ${response.status}${retryAfter > 0 ? ' with Retry-After' : ''}${ms <= TIMEOUT_MS + MARGIN_MS ? '' : ` after ${Math.round(ms)} ms`}`);
        }
        // The sync route needs no store: its call is answered straight back (the cache's lookup gives up within half a timeout).
        const started = performance.now();
        expect((await send('POST', '/v1/embeddings', JSON.stringify({ input: 'during' }))).status).toBe(200);
        expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        // Readiness says the store is down, as fast; listing models needs no store (its live workers are then unknown).
        for (const [path, status] of [['/health/ready', 503], ['/v1/models', 200]] as const) {
          const started = performance.now();
          expect((await send('GET', path)).status).toBe(status);
          expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        }
      } finally {
        await proxy.resume();
      }
      expect(answers).toEqual(needsTheStore.map(([name]) => `${name}: 503 with Retry-After`));
      expect((await send('POST', '/v1/embeddings/tasks', JSON.stringify({ input: 'after' }))).status).toBe(202);
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
