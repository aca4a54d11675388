import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { deleteKeys, deleteQueues } from '../support/namespace.js';
import { freePort, startProcess, startWorker as startWorkerProcess, untilServed, type ServiceProcess } from '../support/processes.js';
import { canManageBroker, closeConnectionsNamed } from '../support/rabbitmq-connections.js';
import { canStartRabbitNode, rabbitNode } from '../support/rabbitmq-node.js';
import { waitFor } from '../support/wait.js';

/*
 * Synchronous requests travel as calls: the message carries a reply address
 * on the API's own channel, and the worker answers there, with no task
 * record. Each guarantee the record used to give is shown here with the
 * fault that tests it, on real RabbitMQ and Redis, with the API and the
 * workers as processes: a worker killed mid-inference, an API killed while
 * its callers wait, the deployment's broker connections cut, a call
 * whose deadline passes in the queue, and a broker restarted (a node of the
 * test's own) while calls wait.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());
const manageable = amqp !== undefined && canManageBroker(amqp.url);

interface Answered {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly input: string[];
  readonly vectors?: number[][];
}

describe.skipIf(!amqp || !store)('synchronous requests as calls, under faults', () => {
  const namespace = `calls-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let reference: OnnxEmbeddingModel;
  let env: Record<string, string>;
  const processes: ServiceProcess[] = [];
  const workers: { process: ServiceProcess; port: number }[] = [];

  const startApi = async (extra: Record<string, string> = {}) => {
    const port = await freePort();
    const api = startProcess(['--mode', 'api'], { ...env, API_PORT: String(port), ...extra });
    processes.push(api);
    await api.ready(port);
    await untilServed(port, 'bert');
    return { process: api, port };
  };
  const startWorker = async () => void workers.push(await startWorkerProcess(env, processes));
  const metric = async (port: number, pattern: RegExp) => Number(pattern.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
  const inFlight = (port: number) => metric(port, /embedding_tasks_in_flight\{[^}]*\} (\d+)/);
  const succeeded = (port: number) => metric(port, /embedding_tasks_completed_total\{[^}]*outcome="succeeded"[^}]*\} (\d+)/);
  const allSucceeded = async () => (await Promise.all(workers.map((w) => succeeded(w.port)))).reduce((a, b) => a + b, 0);

  const embed = async (port: number, input: string[]): Promise<Answered> => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: JSON.stringify({ model: 'bert', input }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json()) as { data?: { embedding: number[] }[] };
      return { status: response.status, retryAfter: response.headers.get('retry-after'), input, ...(body.data && { vectors: body.data.map((d) => d.embedding) }) };
    } catch {
      return { status: 0, retryAfter: null, input };
    }
  };
  const texts = (label: string, n: number) => Array.from({ length: n }, (_, i) => `${label}, sentence ${i} of a call with ${n}`);
  /** Each answer's vectors are the model's own for its texts. */
  const expectRight = async (answers: readonly Answered[]) => {
    for (const answer of answers) {
      const { vectors } = await reference.embed(answer.input);
      expect(answer.vectors).toHaveLength(vectors.length);
      answer.vectors!.forEach((v, i) => expect(v.reduce((sum, x, j) => sum + x * vectors[i]![j]!, 0)).toBeGreaterThan(0.9999));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calls-'));
    const bert = await writeBertFolder(join(dir, 'bert'), { seed: 4 });
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [{ id: 'bert', engine: 'onnx', path: bert }]);
    reference = await OnnxEmbeddingModel.load({ id: 'bert', path: bert, intraOpThreads: 1 });
    env = {
      ML_CONFIG_PATH: mlConfig,
      AMQP_URL: amqp!.url,
      REDIS_URL: store!.url,
      DEPLOYMENT_NAMESPACE: namespace,
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      WORKER_THREADS: '1',
      WORKER_PREFETCH: '16',
      WORKER_MAX_BATCH_SIZE: '8',
      WORKER_HEARTBEAT_SECONDS: '1',
    };
    await startWorker();
    await startWorker();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await reference?.close();
    await deleteQueues(amqp!.url, [`${namespace}.embeddings.bert`, `${namespace}.embeddings.bert.bulk`, `${namespace}.embeddings.bert.calls`, `${namespace}.embeddings.bert.dead`]);
    await deleteKeys(store!.url, `${namespace}:`);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('a worker killed mid-inference: its calls are redelivered, and every caller gets the right vectors', async () => {
    const api = await startApi();
    const victim = workers[0]!;
    const answers = Promise.all(Array.from({ length: 40 }, (_, i) => embed(api.port, texts(`killed ${i}`, 24))));
    await waitFor(async () => (await inFlight(victim.port)) > 0, 10_000, 'the victim to take calls');
    victim.process.child.kill('SIGKILL');
    workers.shift();
    const all = await answers;
    expect(all.map((a) => a.status)).toEqual(all.map(() => 200));
    await expectRight(all);
    await startWorker();
  }, 120_000);

  it('an API killed while its callers wait: only its own callers lose their answers', async () => {
    const [doomed, survivor] = [await startApi(), await startApi()];
    const lost = Promise.all(Array.from({ length: 20 }, (_, i) => embed(doomed.port, texts(`doomed ${i}`, 24))));
    const kept = Promise.all(Array.from({ length: 20 }, (_, i) => embed(survivor.port, texts(`kept ${i}`, 24))));
    await waitFor(async () => (await Promise.all(workers.map((w) => inFlight(w.port)))).some((n) => n > 0), 10_000, 'the workers to take calls');
    doomed.process.child.kill('SIGKILL');
    expect((await lost).every((a) => a.status === 0 || a.status === 200)).toBe(true);
    const answers = await kept;
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    await expectRight(answers);
    // The workers answered into a channel that had gone, and go on serving.
    expect((await embed(survivor.port, ['after the API died'])).status).toBe(200);
  }, 120_000);

  it.skipIf(!manageable)('the deployment’s broker connections cut while calls wait: each is sent again, and answered', async () => {
    const api = await startApi();
    const answers = Promise.all(Array.from({ length: 40 }, (_, i) => embed(api.port, texts(`cut ${i}`, 24))));
    await waitFor(async () => (await Promise.all(workers.map((w) => inFlight(w.port)))).some((n) => n > 0), 10_000, 'the workers to take calls');
    expect(closeConnectionsNamed(`embedding-service:${namespace}`)).toBeGreaterThan(0);
    const all = await answers;
    // A call refused while the API reconnected is told so honestly; every call accepted is answered.
    expect(all.filter((a) => a.status !== 200 && !(a.status === 503 && a.retryAfter !== null))).toEqual([]);
    expect(all.filter((a) => a.status === 200).length).toBeGreaterThan(30);
    await expectRight(all.filter((a) => a.status === 200));
  }, 120_000);

  it.skipIf(!canStartRabbitNode())('the broker restarted while calls wait: the calls it lost are sent again and answered; a call meanwhile gets a fast 503', async () => {
    // A node of this test's own: restarting the machine's broker would cut every other test's connections.
    const node = (await rabbitNode())!;
    try {
      const onNode = { ...env, AMQP_URL: node.url };
      const port = await freePort();
      const api = startProcess(['--mode', 'api'], { ...onNode, API_PORT: String(port) });
      processes.push(api);
      const worker = await startWorkerProcess(onNode, processes);
      await api.ready(port);
      await untilServed(port, 'bert');
      const answers = Promise.all(Array.from({ length: 30 }, (_, i) => embed(port, texts(`restart ${i}`, 24))));
      await waitFor(async () => (await inFlight(worker.port)) > 0, 10_000, 'the worker to take calls');
      await node.stop();
      const started = performance.now();
      const meanwhile = await embed(port, ['sent while the broker is down']);
      expect(meanwhile).toMatchObject({ status: 503, retryAfter: expect.any(String) });
      expect(performance.now() - started).toBeLessThan(2_000);
      await node.start();
      // Transient, the calls the broker held died with it: each answer below is a call the API sent again.
      const all = await answers;
      expect(all.map((a) => a.status)).toEqual(all.map(() => 200));
      await expectRight(all);
      expect((await embed(port, ['after the restart'])).status).toBe(200);
    } finally {
      await node.remove();
    }
  }, 120_000);

  it('a call whose deadline passes in the queue: the caller gets 504 at its timeout, and no worker runs it', async () => {
    const api = await startApi({ EMBEDDINGS_TIMEOUT_SECONDS: '1' });
    const before = await allSucceeded();
    for (const worker of workers) worker.process.child.kill('SIGSTOP');
    try {
      const started = performance.now();
      const late = await embed(api.port, ['waits in the queue past its deadline']);
      expect(late.status).toBe(504);
      expect(performance.now() - started).toBeLessThan(2_000);
    } finally {
      for (const worker of workers) worker.process.child.kill('SIGCONT');
    }
    // Frozen, a worker may already hold it: resumed, it finds the deadline passed and skips it. Else the broker drops it, expired.
    const depth = async () =>
      ((await (await fetch(`http://127.0.0.1:${api.port}/console/api/overview`)).json()) as { snapshot: { models: { queue?: { ready: number } }[] } }).snapshot.models[0]!.queue!.ready;
    await waitFor(async () => (await depth()) === 0, 5_000, 'the queue to be empty');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await allSucceeded()).toBe(before);
  }, 60_000);
});
