import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_BERT, writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { testNamespace } from '../support/namespace.js';
import { distributedEnv, freePort, startProcess, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * Bulk jobs as deployed: an API process and a worker process on real
 * RabbitMQ and Redis, driven by the official openai package. A batch of
 * 2,000 lines over two models (with bad lines) ends with every line once in
 * the output or error file, each vector equal to the sync endpoint's; and a
 * batch survives its worker and then its API being killed with SIGKILL,
 * nothing lost or written twice.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

interface OutputLine {
  custom_id: string | null;
  response: { status_code: number; body: { data?: { embedding: number[] }[]; model?: string; error?: { code: string } } } | null;
  error: { code: string } | null;
}

const request = (customId: string, body: Record<string, unknown>) => JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/embeddings', body });

describe.skipIf(!amqp || !store)('bulk jobs on RabbitMQ and Redis, API and worker as processes', () => {
  const namespace = testNamespace('batches');
  let dir: string;
  let env: Record<string, string>;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let apiPort: number;
  let healthPort: number;

  const startApi = async () => {
    api = startProcess(['--mode', 'api'], env);
    await api.ready(apiPort);
  };
  const startWorker = async () => {
    worker = startProcess(['--mode', 'worker'], { ...env, WORKER_HEALTH_PORT: String(healthPort) });
    await worker.ready(healthPort);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batches-int-'));
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert-a', [
      { id: 'bert-a', engine: 'onnx', path: await writeBertFolder(join(dir, 'bert-a'), { seed: 1 }), queue: namespace.queue('bert-a') },
      { id: 'bert-b', engine: 'onnx', path: await writeBertFolder(join(dir, 'bert-b'), { seed: 2, shape: { ...TINY_BERT, hidden: 48, intermediate: 96 } }), queue: namespace.queue('bert-b') },
    ]);
    apiPort = await freePort();
    healthPort = await freePort();
    env = { ...distributedEnv({ mlConfig, amqpUrl: amqp!.url, redisUrl: store!.url, namespace, apiPort }), BATCHES_CHUNK_INPUTS: '16', BATCHES_IN_FLIGHT_CHUNKS: '4' };
    await Promise.all([startApi(), startWorker()]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([api, worker].filter(Boolean).map((p) => p.stop()));
    await namespace.cleanUp({ amqpUrl: amqp!.url, redisUrl: store!.url });
    await rm(dir, { recursive: true, force: true });
    await amqp?.stop();
    await store?.stop();
  }, 60_000);

  const client = () => new OpenAI({ baseURL: `http://127.0.0.1:${apiPort}/v1`, apiKey: 'unused', maxRetries: 0 });
  const read = async (fileId: string | null | undefined): Promise<OutputLine[]> => {
    if (!fileId) return [];
    const text = await (await client().files.content(fileId)).text();
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutputLine);
  };
  const submit = async (content: string) => {
    const file = await client().files.create({ file: await toFile(Buffer.from(content), 'input.jsonl'), purpose: 'batch' });
    return client().batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
  };
  /** Polls until `check`; records every completed count seen on the way. */
  const follow = async (id: string, check: (b: OpenAI.Batch) => boolean, seen: number[] = [], timeoutMs = 120_000) => {
    let last: OpenAI.Batch | undefined;
    await waitFor(
      async () => {
        last = await client().batches.retrieve(id).catch(() => last);
        if (last) seen.push(last.request_counts!.completed);
        return last !== undefined && check(last);
      },
      timeoutMs,
      `batch ${id} to get there`,
    );
    return last!;
  };

  it('runs 2,000 lines over two models with the official client: each vector equals the sync endpoint’s, bad lines alone fail', async () => {
    const texts = Array.from({ length: 2_000 }, (_, i) => `document ${i} about ${['cats', 'ships', 'rivers', 'music'][i % 4]} and more`);
    const model = (i: number) => (i % 3 === 0 ? 'bert-b' : 'bert-a');
    const bad = new Map([
      [100, request('bad-100', { model: 'missing', input: 'x' })],
      [700, '{"custom_id": "bad-700", "method": "POST"'],
      [1_300, request('bad-1300', { model: 'bert-a', input: '' })],
      [1_900, request('bad-1900', { model: 'bert-b', input: [[101], [99_999_999]] })],
    ]);
    const content = texts.map((text, i) => bad.get(i) ?? request(`doc-${i}`, { model: model(i), input: text })).join('\n') + '\n';
    const batch = await submit(content);
    const seen: number[] = [];
    const done = await follow(batch.id, (b) => b.status === 'completed', seen);
    // Progress was visible while it ran.
    expect(new Set(seen.filter((n) => n > 0 && n < 1_996)).size).toBeGreaterThan(1);
    expect(done.request_counts).toEqual({ total: 2_000, completed: 1_996, failed: 4 });

    const output = await read(done.output_file_id);
    const errors = await read(done.error_file_id);
    expect(errors.map((e) => [e.custom_id, e.response?.status_code])).toEqual([
      ['bad-100', 404],
      [null, 400],
      ['bad-1300', 422],
      ['bad-1900', 422],
    ]);
    const ids = output.map((o) => o.custom_id);
    expect(ids).toEqual(texts.flatMap((_, i) => (bad.has(i) ? [] : [`doc-${i}`])));

    // The same inputs through the sync endpoint, many to a request.
    for (const name of ['bert-a', 'bert-b']) {
      const mine = texts.map((text, i) => ({ text, i })).filter(({ i }) => !bad.has(i) && model(i) === name);
      for (let from = 0; from < mine.length; from += 128) {
        const slice = mine.slice(from, from + 128);
        const sync = await client().embeddings.create({ model: name, input: slice.map((s) => s.text), encoding_format: 'float' });
        slice.forEach(({ i }, j) => {
          const line = output[ids.indexOf(`doc-${i}`)]!;
          expect(line.response!.body.model).toBe(name);
          const got = line.response!.body.data![0]!.embedding;
          const want = sync.data[j]!.embedding;
          expect(got).toHaveLength(want.length);
          got.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
        });
      }
    }
    expect((await client().batches.list({ limit: 10 })).data.map((b) => b.id)).toContain(batch.id);
  }, 180_000);

  it('completes a batch whose worker and then API are killed mid-run, every line once', async () => {
    const n = 3_000;
    const content = Array.from({ length: n }, (_, i) => request(`k-${i}`, { model: i % 2 ? 'bert-a' : 'bert-b', input: `line ${i} ${'text '.repeat(i % 40)}` })).join('\n') + '\n';
    const batch = await submit(content);

    await follow(batch.id, (b) => b.request_counts!.completed >= 300);
    worker.child.kill('SIGKILL');
    await worker.exited();
    await startWorker();
    await follow(batch.id, (b) => b.request_counts!.completed >= 1_200);
    api.child.kill('SIGKILL');
    await api.exited();
    // A new API process (a new lease holder) takes the batch over once the dead one's lease runs out.
    await startApi();
    // The dead API's lease has not run out yet: nobody has finished the batch; the new process resumes it.
    expect((await client().batches.retrieve(batch.id)).status).toBe('in_progress');
    const done = await follow(batch.id, (b) => b.status === 'completed');

    expect(done.request_counts).toEqual({ total: n, completed: n, failed: 0 });
    const output = await read(done.output_file_id);
    expect(await read(done.error_file_id)).toEqual([]);
    expect(output.map((o) => o.custom_id)).toEqual(Array.from({ length: n }, (_, i) => `k-${i}`));
    expect(output.every((o) => o.response?.status_code === 200 && o.response.body.data!.length === 1)).toBe(true);
  }, 240_000);

  it('cancels a running batch: dispatch stops, running work finishes, the partial output is kept', async () => {
    const n = 3_000;
    const batch = await submit(Array.from({ length: n }, (_, i) => request(`x-${i}`, { input: `to cancel ${i}` })).join('\n') + '\n');
    await follow(batch.id, (b) => b.request_counts!.completed >= 100);
    await client().batches.cancel(batch.id);
    const done = await follow(batch.id, (b) => b.status === 'cancelled');
    const output = await read(done.output_file_id);
    const errors = await read(done.error_file_id);
    expect(output.length).toBeGreaterThanOrEqual(100);
    expect(output.length).toBeLessThan(n);
    expect(errors.every((e) => e.error?.code === 'batch_cancelled')).toBe(true);
    expect(done.request_counts).toEqual({ total: n, completed: output.length, failed: errors.length });
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `x-${i}`).sort());
  }, 120_000);
});
