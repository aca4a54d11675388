import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { relevanceScore } from '../../src/domain/index.js';
import { TINY_BERT, writeBertFolder, writeCrossEncoderFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { testNamespace } from '../support/namespace.js';
import { distributedEnv, freePort, startProcess, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * The deployment shape for real: one API process and two worker processes,
 * on real RabbitMQ and Redis, serving two embedding models and a reranker.
 * Then one worker is killed with SIGKILL while embedding tasks and rerank
 * requests are in flight, and nothing may be lost.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

interface TaskBody {
  id: string;
  status: string;
  model: string;
  attempts: number;
  result: { dimensions: number; data: { embedding: number[] }[] } | null;
}

describe.skipIf(!amqp || !store)('api and two workers as separate processes', () => {
  const namespace = testNamespace('e2e');
  let dir: string;
  let api: ServiceProcess;
  /** A second API replica: the embedding cache in Redis is shared by both. */
  let api2: ServiceProcess;
  let workers: ServiceProcess[] = [];
  let apiPort: number;
  let api2Port: number;
  const references = new Map<string, OnnxEmbeddingModel>();
  let rankerReference: OnnxReranker;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-'));
    const folderA = await writeBertFolder(join(dir, 'bert-a'), { seed: 1 });
    const folderB = await writeBertFolder(join(dir, 'bert-b'), {
      seed: 2,
      shape: { ...TINY_BERT, hidden: 48, intermediate: 96 },
    });
    const folderR = await writeCrossEncoderFolder(join(dir, 'ranker'), { maxLength: 32, seed: 5 });
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert-a', [
      { id: 'bert-a', engine: 'onnx', path: folderA, queue: namespace.queue('bert-a') },
      { id: 'bert-b', engine: 'onnx', path: folderB, queue: namespace.queue('bert-b') },
      { id: 'ranker', kind: 'reranker', engine: 'onnx', path: folderR, queue: namespace.queue('ranker') },
    ]);
    rankerReference = await OnnxReranker.load({ id: 'ranker', path: folderR, intraOpThreads: 1 });
    references.set('bert-a', await OnnxEmbeddingModel.load({ id: 'bert-a', path: folderA, intraOpThreads: 1 }));
    references.set('bert-b', await OnnxEmbeddingModel.load({ id: 'bert-b', path: folderB, intraOpThreads: 1 }));

    apiPort = await freePort();
    const common = {
      ...distributedEnv({ mlConfig, amqpUrl: amqp!.url, redisUrl: store!.url, namespace, apiPort }),
      WORKER_PREFETCH: '16',
      WORKER_MAX_BATCH_SIZE: '8',
    };
    const healthPorts = [await freePort(), await freePort()];
    api2Port = await freePort();
    api = startProcess(['--mode', 'api'], common);
    api2 = startProcess(['--mode', 'api'], { ...common, API_PORT: String(api2Port) });
    workers = healthPorts.map((port) => startProcess(['--mode', 'worker'], { ...common, WORKER_HEALTH_PORT: String(port) }));
    await Promise.all([api.ready(apiPort), api2.ready(api2Port), ...workers.map((w, i) => w.ready(healthPorts[i]!))]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api, api2, ...workers].filter(Boolean).map((p) => p.stop()));
    await Promise.all([...references.values()].map((m) => m.close()));
    await rankerReference?.close();
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
    await rm(dir, { recursive: true, force: true });
    await amqp?.stop();
    await store?.stop();
  }, 60_000);

  const base = () => `http://127.0.0.1:${apiPort}`;
  const submit = async (input: string[], model: string) => {
    const response = await fetch(`${base()}/v1/embeddings/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input, model }),
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const fetchTask = async (id: string) => (await (await fetch(`${base()}/v1/embeddings/tasks/${id}`)).json()) as TaskBody;
  const texts = (i: number, n: number) => Array.from({ length: n }, (_, j) => `task ${i} text ${j} about the number ${i * 7 + j}`);

  /** Every task succeeded, with one vector per input, equal to what the model gives in-process. */
  const expectCorrect = async (tasks: { id: string; model: string; input: string[] }[]) => {
    for (const task of tasks) {
      const body = await fetchTask(task.id);
      expect(body.status, `task ${task.id}`).toBe('succeeded');
      expect(body.model).toBe(task.model);
      const expected = await references.get(task.model)!.embed(task.input);
      expect(body.result!.dimensions).toBe(task.model === 'bert-a' ? 32 : 48);
      expect(body.result!.data).toHaveLength(task.input.length);
      body.result!.data.forEach((d, k) => {
        expect(d.embedding).toEqual(Array.from(expected.vectors[k]!).map((x) => expect.closeTo(x, 4)));
      });
    }
  };

  const allSettled = async (ids: string[], timeoutMs: number) => {
    await waitFor(
      async () => {
        const bodies = await Promise.all(ids.map(fetchTask));
        return bodies.every((b) => b.status === 'succeeded' || b.status === 'failed');
      },
      timeoutMs,
      'every task to finish',
    );
  };

  it('shares the embedding cache between API processes: what one embedded, the other answers from Redis without a task', async () => {
    const embed = async (port: number) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bert-a', input: ['shared by two API processes', 'and a second text'] }),
      });
      expect(response.status).toBe(200);
      return { hits: response.headers.get('x-embedding-cache-hits'), body: await response.json() };
    };
    const first = await embed(apiPort);
    expect(first.hits).toBe('0');
    const second = await embed(api2Port);
    expect(second).toEqual({ hits: '2', body: first.body });
    const tasksOf = async (port: number) => Number(/embedding_tasks_submitted_total\{[^}]*model="bert-a"[^}]*\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1]);
    expect(await tasksOf(api2Port)).toBe(0);
    expect(await tasksOf(apiPort)).toBeGreaterThanOrEqual(1);
  });

  it('lists every model as served (loaded) by two live workers, from their heartbeats', async () => {
    const rows = async () => {
      const body = (await (await fetch(`${base()}/v1/models`)).json()) as { data: { id: string; live_workers: number; loaded: boolean | null }[] };
      return body.data.map((m) => [m.id, m.live_workers, m.loaded]);
    };
    // A worker is ready once its models load; its first heartbeat follows, and the API reads them once a second.
    await waitFor(async () => JSON.stringify(await rows()) === JSON.stringify([['bert-a', 2, true], ['bert-b', 2, true], ['ranker', 2, true]]), 5_000);
  });

  it('serves 200 tasks over two models, every one with the right result', async () => {
    const tasks = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const model = i % 2 ? 'bert-b' : 'bert-a';
        const input = texts(i, 1 + (i % 3));
        return { id: await submit(input, model), model, input };
      }),
    );
    await allSettled(tasks.map((t) => t.id), 60_000);
    await expectCorrect(tasks);
  }, 120_000);

  it('loses nothing when a worker is killed with SIGKILL mid-flight', async () => {
    // Heavy enough, and submitted all at once, that a backlog forms and each worker holds a full prefetch.
    const tasks = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const model = i % 2 ? 'bert-b' : 'bert-a';
        const input = texts(1000 + i, 64);
        return { id: await submit(input, model), model, input };
      }),
    );
    // Rerank requests too, held open (the sync route) on the reranker's own queue while the worker dies.
    const rerank = (i: number) => ({ query: `which text is about ${i}?`, documents: texts(2000 + i, 8) });
    const reranks = Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const response = await fetch(`${base()}/v1/rerank`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'ranker', ...rerank(i) }),
        });
        return { i, status: response.status, body: (await response.json()) as { results: { index: number; relevance_score: number }[] } };
      }),
    );
    await waitFor(async () => {
      const bodies = await Promise.all(tasks.slice(0, 40).map((t) => fetchTask(t.id)));
      return bodies.filter((b) => b.status === 'succeeded').length >= 10;
    }, 30_000);
    workers[0]!.child.kill('SIGKILL');

    await allSettled(tasks.map((t) => t.id), 90_000);
    await expectCorrect(tasks);
    // Every rerank request was answered, with the scores the model gives.
    for (const { i, status, body } of await reranks) {
      expect(status, `rerank ${i}`).toBe(200);
      const { query, documents } = rerank(i);
      const logits = await rankerReference.scoreTokenized(await rankerReference.tokenizePairs(query, documents));
      const expected = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score);
      expect(body.results.map((r) => r.index)).toEqual(expected.map((e) => e.index));
      body.results.forEach((r, k) => expect(r.relevance_score).toBeCloseTo(expected[k]!.score, 4));
    }
    const bodies = await Promise.all(tasks.map((t) => fetchTask(t.id)));
    // The killed worker held unacknowledged tasks; the broker gave them to the survivor.
    expect(bodies.some((b) => b.attempts >= 2)).toBe(true);
  }, 180_000);

  it('answers 503 no_live_worker once the last worker of a model is gone, within three heartbeats of its death', async () => {
    // The first worker was killed above; the survivor is the last one.
    const killedAt = performance.now();
    workers[1]!.child.kill('SIGKILL');
    const sync = () =>
      fetch(`${base()}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'anyone there?', model: 'bert-a' }) });
    // The API refuses a sync request at once when it counts no live worker for the model; until then it would queue it.
    const liveWorkers = async () => ((await (await fetch(`${base()}/v1/models/bert-a`)).json()) as { live_workers: number }).live_workers;
    await waitFor(async () => (await liveWorkers()) === 0, 30_000, 'the API to count no live worker for bert-a');
    const seconds = (performance.now() - killedAt) / 1000;
    console.log(`no_live_worker after ${seconds.toFixed(1)} s`);
    const started = performance.now();
    const answer = await sync();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('no_live_worker');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    // A worker's beat lives three heartbeats (5 s each, by default); the API reads the registry at most once a second.
    expect(seconds).toBeLessThan(3 * 5 + 1 + 2);
  }, 60_000);
});
