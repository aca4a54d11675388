import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { testNamespace, type TestNamespace } from '../support/namespace.js';
import { distributedEnv, freePort, startProcess, untilServed, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * SIGTERM, as Kubernetes and compose send it, to real API and worker
 * processes on real RabbitMQ and Redis.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

describe.skipIf(!amqp || !store)('graceful shutdown', () => {
  let namespace: TestNamespace;
  let dir: string;
  let env: Record<string, string>;
  let apiPort: number;
  const processes: ServiceProcess[] = [];

  beforeEach(async () => {
    namespace = testNamespace('shutdown');
    dir = await mkdtemp(join(tmpdir(), 'shutdown-'));
    const folder = await writeBertFolder(join(dir, 'bert'), { maxSeqLength: 128 });
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [
      { id: 'bert', engine: 'onnx', path: folder, queue: namespace.queue('bert') },
    ]);
    apiPort = await freePort();
    env = {
      ...distributedEnv({ mlConfig, amqpUrl: amqp!.url, redisUrl: store!.url, namespace, apiPort }),
      SHUTDOWN_GRACE_SECONDS: '20',
    };
  });

  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
    await rm(dir, { recursive: true, force: true });
  });

  const start = async (mode: 'api' | 'worker', extra: Record<string, string> = {}) => {
    const port = mode === 'api' ? apiPort : await freePort();
    const process = startProcess(['--mode', mode], { ...env, ...extra, ...(mode === 'worker' && { WORKER_HEALTH_PORT: String(port) }) });
    processes.push(process);
    await process.ready(port);
    return process;
  };
  const texts = (i: number, n: number) => Array.from({ length: n }, (_, j) => `request ${i} sentence ${j} with a few more words in it`);
  const post = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${apiPort}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('the API answers 503 with Retry-After to new work, finishes what is in flight, and exits 0', async () => {
    const api = await start('api');
    await start('worker');
    await untilServed(apiPort, 'bert');
    const inFlight = Array.from({ length: 20 }, (_, i) => post('/v1/embeddings', { model: 'bert', input: texts(i, 128) }));
    // Signal only once the API has taken all 20 (they are then in flight, waiting on the worker):
    // a request still in the kernel's accept queue when the listener closes is not in flight.
    await waitFor(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
      return /embedding_tasks_submitted_total\{model="bert"\} 20/.test(metrics);
    }, 20_000);
    api.child.kill('SIGTERM');

    // While in-flight requests drain, a newcomer is turned away, with a hint when to come back.
    let turnedAway: Response | undefined;
    await waitFor(async () => {
      const response = await post('/v1/embeddings/tasks', { input: 'late' }).catch(() => undefined);
      if (response?.status === 503) turnedAway = response;
      return turnedAway !== undefined || api.child.exitCode !== null;
    }, 10_000);
    expect(turnedAway?.headers.get('retry-after')).toBe('5');

    const statuses = await Promise.all(inFlight.map(async (r) => (await r).status));
    expect(statuses).toEqual(Array(20).fill(200));
    const [code] = api.child.exitCode !== null ? [api.child.exitCode] : ((await once(api.child, 'exit')) as [number]);
    expect(code).toBe(0);
  }, 60_000);

  it('under steady keep-alive traffic, the API exits 0 about a second after its last in-flight request, closing connections as it refuses', async () => {
    const api = await start('api');
    await start('worker');
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const get = (path: string) =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        request({ host: '127.0.0.1', port: apiPort, path, agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        })
          .on('error', reject)
          .end();
      });
    // Traffic well above the 2 requests/s that used to hold a draining API open for the whole grace period.
    const answers: { status: number; connection: string | undefined }[] = [];
    let sending = true;
    const traffic = (async () => {
      while (sending) {
        const answer = await get('/v1/models').catch(() => undefined);
        if (answer) answers.push(answer);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await untilServed(apiPort, 'bert');
    const inFlight = Array.from({ length: 4 }, (_, i) => post('/v1/embeddings', { model: 'bert', input: texts(i, 64) }));
    await waitFor(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
      return /embedding_tasks_submitted_total\{model="bert"\} 4/.test(metrics);
    }, 20_000);
    api.child.kill('SIGTERM');
    let lastDone = 0;
    await Promise.all(inFlight.map(async (r) => {
      expect((await r).status).toBe(200);
      lastDone = Math.max(lastDone, Date.now());
    }));
    const [code] = api.child.exitCode !== null ? [api.child.exitCode] : ((await once(api.child, 'exit')) as [number]);
    const exited = Date.now();
    sending = false;
    await traffic;
    agent.destroy();
    expect(code).toBe(0);
    expect(exited - lastDone).toBeLessThan(1_500);
    const refused = answers.filter((a) => a.status === 503);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.connection === 'close')).toBe(true);
  }, 60_000);

  it('treats the two SIGINTs of one Ctrl-C under npm as one, and shuts down gracefully', async () => {
    const worker = await start('worker');
    worker.child.kill('SIGINT');
    worker.child.kill('SIGINT');
    const [code] = (await once(worker.child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(worker.output()).not.toMatch(/received again/);
  }, 30_000);

  it('a worker stops consuming, settles what it holds and exits 0 in the grace period; every task still finishes', async () => {
    await start('api');
    const leaving = await start('worker', { WORKER_PREFETCH: '16', WORKER_MAX_BATCH_SIZE: '8' });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const response = await post('/v1/embeddings/tasks', { input: texts(i, 32) });
      ids.push(((await response.json()) as { id: string }).id);
    }
    const status = async (id: string) =>
      ((await (await fetch(`http://127.0.0.1:${apiPort}/v1/embeddings/tasks/${id}`)).json()) as { status: string }).status;
    await waitFor(async () => (await Promise.all(ids.slice(0, 10).map(status))).some((s) => s === 'succeeded'), 20_000);

    const signalled = Date.now();
    leaving.child.kill('SIGTERM');
    const [code] = (await once(leaving.child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000);

    // A second worker takes what is left; nothing is lost or stuck as running.
    await start('worker');
    await waitFor(async () => (await Promise.all(ids.map(status))).every((s) => s === 'succeeded'), 60_000, 'every task to succeed');
  }, 120_000);
});
