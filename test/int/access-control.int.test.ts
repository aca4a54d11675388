import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { testNamespace } from '../support/namespace.js';
import { distributedEnv, freePort, startProcess, type ServiceProcess } from '../support/processes.js';
import { startTestService, type TestService } from '../support/service.js';
import { StubModel } from '../support/stub-model.js';
import { sleep, waitFor } from '../support/wait.js';

/*
 * Access control where it takes more than one process: rate limits that two
 * API replicas share through Redis, ownership and cancel across replicas,
 * and admission of a flood by a model whose worker is slow, on RabbitMQ.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

const ALICE = 'sk-alice-shared-0123456789';
const BOB = 'sk-bob-shared-0123456789';
const CAROL = 'sk-carol-shared-0123456789';

describe.skipIf(!amqp || !store)('two API replicas on one Redis', () => {
  const namespace = testNamespace('replicas');
  let dir: string;
  const ports: number[] = [];
  const apis: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replicas-'));
    // The API loads no model; its worker is absent on purpose, so that tasks stay queued.
    const bert = await writeBertFolder(join(dir, 'bert'), {});
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [
      { id: 'bert', engine: 'onnx', path: bert, queue: namespace.queue('bert') },
    ]);
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      ports.push(port);
      apis.push(
        startProcess(['--mode', 'api'], {
          ...distributedEnv({ mlConfig, amqpUrl: amqp!.url, redisUrl: store!.url, namespace, apiPort: port }),
          API_KEYS: `${ALICE},${BOB},${CAROL}`,
          RATE_LIMIT_REQUESTS_PER_MINUTE: '10',
        }),
      );
    }
    await Promise.all(apis.map((api, i) => api.ready(ports[i]!)));
  });
  afterAll(async () => {
    await Promise.all(apis.map((api) => api.stop()));
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
    await rm(dir, { recursive: true, force: true });
  });

  const call = (replica: number, key: string, method: string, path: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${ports[replica]}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  it('counts a key’s requests once across both replicas: ten a minute in all, not ten each', async () => {
    const statuses: number[] = [];
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 14; i++) {
      const response = await call(i % 2, ALICE, 'GET', '/v1/models');
      statuses.push(response.status);
      remaining.push(response.headers.get('x-ratelimit-remaining-requests'));
    }
    expect(statuses).toEqual([...Array<number>(10).fill(200), ...Array<number>(4).fill(429)]);
    expect(remaining).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0', '0', '0', '0', '0']);
    // The other key has its own allowance, on both replicas.
    expect((await call(0, BOB, 'GET', '/v1/models')).status).toBe(200);
    expect((await call(1, BOB, 'GET', '/v1/models')).headers.get('x-ratelimit-remaining-requests')).toBe('8');
  });

  it('keeps a task its owner’s on every replica, and lets the owner cancel it on another', async () => {
    const accepted = await call(0, BOB, 'POST', '/v1/embeddings/tasks', { input: 'queued, no worker' });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    // Alice is out of requests from the test above: the 429 comes before any lookup.
    expect((await call(1, ALICE, 'GET', `/v1/embeddings/tasks/${id}`)).status).toBe(429);
    const foreign = await call(1, CAROL, 'GET', `/v1/embeddings/tasks/${id}`);
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toMatchObject({ code: 'task_not_found' });
    expect((await call(0, CAROL, 'DELETE', `/v1/embeddings/tasks/${id}`)).status).toBe(404);
    const cancelled = await call(1, BOB, 'DELETE', `/v1/embeddings/tasks/${id}`);
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toMatchObject({ id, status: 'cancelled' });
    expect(await (await call(0, BOB, 'GET', `/v1/embeddings/tasks/${id}`)).json()).toMatchObject({ status: 'cancelled' });
  });
});

describe.skipIf(!amqp || !store)('admission of a flood to a slow worker', () => {
  const namespace = testNamespace('admission');
  const MAX_WAIT_SECONDS = 2;
  const INFERENCE_MS = 100;
  let t: TestService;
  let connection: amqplib.ChannelModel;
  let channel: amqplib.Channel;

  beforeAll(async () => {
    // One text at a time, 100 ms each: about 10 tasks a second.
    const slow = new StubModel();
    const embed = slow.embedTokenized.bind(slow);
    slow.embedTokenized = async (batch) => {
      await sleep(INFERENCE_MS);
      return embed(batch);
    };
    t = await startTestService({
      loadModel: async () => slow,
      queueName: namespace.queue,
      env: {
        QUEUE_DRIVER: 'rabbitmq',
        STORE_DRIVER: 'redis',
        AMQP_URL: amqp!.url,
        REDIS_URL: store!.url,
        REDIS_KEY_PREFIX: namespace.keyPrefix,
        WORKER_MODELS: 'tiny-bert',
        WORKER_PREFETCH: '1',
        WORKER_MAX_BATCH_SIZE: '1',
        WORKER_HEARTBEAT_SECONDS: '1',
        MAX_QUEUE_WAIT_SECONDS: String(MAX_WAIT_SECONDS),
        // A sync caller's patience is its timeout, when shorter than the bound: half of it here.
        EMBEDDINGS_TIMEOUT_SECONDS: String(MAX_WAIT_SECONDS / 2),
      },
    });
    await t.service.modelsSettled;
    connection = await amqplib.connect(amqp!.url);
    channel = await connection.createChannel();
  });
  afterAll(async () => {
    await connection?.close();
    await t?.stop();
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
  });

  const depth = async () => (await channel.checkQueue(namespace.queue('tiny-bert'))).messageCount;
  const submit = (i: number) => t.post('/v1/embeddings/tasks', { input: `flood ${i}` });

  it('answers 429 overloaded before the queue holds more than the bound, with a Retry-After near the real drain time', async () => {
    // The worker measures its pace on a first few tasks, and reports it with its next heartbeats.
    const warmUp = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(-i - 1)));
    expect(warmUp.map((r) => r.status)).toEqual(Array<number>(10).fill(202));
    await waitFor(async () => (await depth()) === 0, 10_000);
    await sleep(2_500);

    // Eight clients submit as fast as they can for two seconds.
    const accepted: string[] = [];
    const refusals: { retryAfter: number; depth: number }[] = [];
    let maxDepth = 0;
    let sync: Promise<Response> | undefined;
    const until = Date.now() + 2_000;
    let n = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          // With the queue at the bound (2 s of work), a sync request, which waits at most 1 s, is refused too.
          if (refusals.length > 0 && !sync) sync = t.post('/v1/embeddings', { model: 'tiny-bert', input: 'sync during the flood' });
          const response = await submit(n++);
          const body = (await response.json()) as { id: string; code?: string };
          const now = await depth();
          maxDepth = Math.max(maxDepth, now);
          if (response.status === 202) accepted.push(body.id);
          else {
            expect(response.status).toBe(429);
            expect(body.code).toBe('overloaded');
            refusals.push({ retryAfter: Number(response.headers.get('retry-after')), depth: now });
          }
        }
      }),
    );
    const stoppedAt = Date.now();
    const pending = await depth();
    await waitFor(async () => (await depth()) === 0, 30_000);
    const drainSeconds = (Date.now() - stoppedAt) / 1000;

    // Refusing is cheap: thousands in the two seconds, against a few dozen tasks let in.
    expect(refusals.length).toBeGreaterThan(10 * accepted.length);
    // About 10 tasks a second for 2 s: the queue stays near 20, however hard it is pushed (the slack is the eight clients in flight).
    const bound = (MAX_WAIT_SECONDS * 1000) / INFERENCE_MS;
    expect(maxDepth).toBeLessThanOrEqual(bound + 8);
    const refusedSync = await sync!;
    expect(refusedSync.status).toBe(429);
    expect(await refusedSync.json()).toMatchObject({ error: { code: 'overloaded', type: 'server_error' } });

    const last = refusals.at(-1)!;
    expect(pending).toBeGreaterThan(0);
    expect(last.retryAfter).toBeGreaterThanOrEqual(drainSeconds / 2);
    expect(last.retryAfter).toBeLessThanOrEqual(Math.max(2, drainSeconds * 2));

    // What was let in did not wait much past the bound.
    const waits = await Promise.all(
      accepted.slice(-20).map(async (id) => {
        const task = (await (await t.get(`/v1/embeddings/tasks/${id}?wait=10`)).json()) as { created_at: string; started_at: string };
        return (Date.parse(task.started_at) - Date.parse(task.created_at)) / 1000;
      }),
    );
    expect(Math.max(...waits)).toBeLessThan(MAX_WAIT_SECONDS * 2);
  });
});
