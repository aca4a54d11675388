/*
 * npm run bench:latency: where a lone request's time goes. Each hop of the
 * path is measured on its own, in this process, on the generated
 * all-MiniLM-L6-v2-shaped model, one text at a time; each row adds one hop
 * to the one above it, so the differences are what each hop costs. Medians
 * of many runs. See BENCHMARKS.md.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import * as ort from 'onnxruntime-node';
import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import { Pool } from 'undici';
import { bodyGuard } from '../src/adapters/http/middleware/body-guard.js';
import { OpenAiEmbeddingRequestSchema } from '../src/adapters/http/wire/embeddings.js';
import { MemoryTaskQueue } from '../src/adapters/memory/memory-task-queue.js';
import { OnnxEmbeddingModel } from '../src/adapters/onnx/onnx-embedding-model.js';
import { readSentenceTransformersFolder } from '../src/adapters/onnx/sentence-transformers-folder.js';
import { DynamicBatcher } from '../src/application/worker/dynamic-batcher.js';
import { loadConfig } from '../src/bootstrap/config/load.js';
import { startService } from '../src/bootstrap/service.js';
import { MINILM_L6 } from '../test/support/bert-fixture.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { freePort } from '../test/support/processes.js';
import { freshShort, SHORT_TEXTS } from './corpus.js';
import { CACHE, log, median, modelFolder } from './fixtures.js';
import { traceStages, type Stage } from './stages.js';

const RUNS = Number(process.env.LATENCY_RUNS ?? 300);
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const text = SHORT_TEXTS[0]!;

interface Step {
  readonly name: string;
  readonly ms: number;
}
const steps: Step[] = [];
const stageTables: { label: string; stages: Stage[] }[] = [];

/** Medians `once` over `runs` calls; with `idleMs`, the process sits idle that long before each call, as between a lone client's requests. */
async function measure(name: string, once: () => Promise<unknown>, runs = RUNS, idleMs = 0): Promise<number> {
  for (let i = 0; i < 50; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (idleMs > 0) await new Promise((resolve) => setTimeout(resolve, idleMs));
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  const ms = median(times);
  steps.push({ name, ms });
  log(`${name}: ${ms.toFixed(3)} ms`);
  return ms;
}

async function rawSession(dir: string, spinning: boolean) {
  const folder = await readSentenceTransformersFolder(dir);
  const session = await ort.InferenceSession.create(folder.modelFile, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  });
  return session;
}

async function main() {
  const dir = await modelFolder('all-MiniLM-L6-v2-shape', MINILM_L6);
  const model = await OnnxEmbeddingModel.load({ id: 'L6', path: dir });
  const [tokens] = await model.tokenize([text]);
  const seq = tokens!.ids.length;
  const feeds = () => ({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens!.ids, BigInt), [1, seq]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(seq).fill(1n), [1, seq]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(seq), [1, seq]),
  });

  for (const spinning of [false, true]) {
    const session = await rawSession(dir, spinning);
    await measure(`raw session.run, batch 1, main thread, spinning ${spinning ? 'on' : 'off'}`, () => session.run(feeds()));
    // Back to back, the threads never sleep. A lone client's request comes after its round trip, to threads gone idle.
    for (const idleMs of [1, 5, 20]) {
      await measure(`raw session.run, batch 1, spinning ${spinning ? 'on' : 'off'}, after ${idleMs} ms idle`, () => session.run(feeds()), RUNS, idleMs);
    }
    await session.release();
  }
  await measure('tokenize (Hugging Face tokenizers, main thread)', () => model.tokenize([text]));
  await measure('inference thread: hop + session.run + pooling', () => model.embedTokenized([tokens!]));
  const batcher = new DynamicBatcher((batch) => model.embedTokenized(batch), { maxBatchSize: 32, maxBulkBatchSize: 4, maxBatchTokens: 8192, lingerMs: 0, mergeTasks: true });
  await measure('batcher: tokenize + schedule + thread', async () => batcher.run(await model.tokenize([text])));
  await model.close();

  const vector = Array.from({ length: 384 }, (_, i) => Math.sin(i) / 10);
  const body = () => JSON.stringify({ model: 'L6', input: freshShort(), encoding_format: 'float' });
  await measure('JSON of one 384-float response', async () =>
    JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: vector }], model: 'L6', usage: {} }),
  );

  await httpLayers(body);
  await queueHandOff();

  const mlConfig = await writeMlConfig(join(CACHE, `ml_config.latency.yaml`), 'L6', [{ id: 'L6', engine: 'onnx', path: dir, queue: `latency.${Date.now()}.L6` }]);
  const embedded = async (env: Record<string, string>, label: string) => {
    const config = loadConfig({ env: { ML_CONFIG_PATH: mlConfig, LOG_LEVEL: 'warn', API_HOST: '127.0.0.1', API_PORT: String(await freePort()), ...env }, cwd: REPO_ROOT });
    const service = await startService(config, { listen: true });
    await service.modelsSettled;
    try {
      const request = () =>
        Promise.resolve(service.app.request('/v1/embeddings', { method: 'POST', body: body(), headers: { 'content-type': 'application/json' } })).then((r) => r.text());
      await measure(`${label}: POST /v1/embeddings, in process (app.request)`, request);
      const pool = new Pool(`http://127.0.0.1:${service.port}`, { connections: 1 });
      await measure(`${label}: POST /v1/embeddings over HTTP (undici, keep-alive)`, async () => {
        const response = await pool.request({ path: '/v1/embeddings', method: 'POST', body: body(), headers: { 'content-type': 'application/json' } });
        return response.body.text();
      });
      await pool.close();
      stageTables.push({ label, stages: await traceStages(`http://127.0.0.1:${service.port}`, body, RUNS) });
    } finally {
      await service.stop();
    }
  };
  await embedded({}, 'embedded');

  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  const brokers = await redis.connect().then(
    () => true,
    () => false,
  );
  if (brokers) {
    await measure('Redis round trip (PING)', () => redis.ping());
    const connection = await amqplib.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await measure('RabbitMQ publish with confirm', () => new Promise<void>((resolve, reject) => channel.sendToQueue(queue, Buffer.from('x'), {}, (e) => (e ? reject(e) : resolve()))));
    await connection.close();
    await embedded({ QUEUE_DRIVER: 'rabbitmq', STORE_DRIVER: 'redis', AMQP_URL, REDIS_URL, REDIS_KEY_PREFIX: `latency:${Date.now()}:` }, 'RabbitMQ + Redis, one process');
  }
  redis.disconnect();

  process.stdout.write(['| Step | p50 ms |', '| --- | ---: |', ...steps.map((s) => `| ${s.name} | ${s.ms.toFixed(3)} |`)].join('\n') + '\n');
  for (const { label, stages } of stageTables) {
    process.stdout.write(
      [`\n${label}, over HTTP, stage by stage (median ms from the request's start):`, '', '| Stage | at ms |', '| --- | ---: |', ...stages.map((s) => `| ${s.name} | ${s.at.toFixed(3)} |`)].join('\n') + '\n',
    );
  }
}

/**
 * The embedded path's HTTP layers, each over HTTP with keep-alive and a
 * fixed 384-float answer, each row one layer more than the row above: plain
 * node:http, then Hono on @hono/node-server (its Request object and router),
 * then the body guard's scan, then the request schema (zod). The differences
 * are what each layer costs a lone request.
 */
async function httpLayers(body: () => string): Promise<void> {
  const answer = JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: Array.from({ length: 384 }, (_, i) => Math.sin(i) / 10) }] });
  const over = async (name: string, listen: (port: number) => Promise<() => void>) => {
    const port = await freePort();
    const close = await listen(port);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
    await measure(name, async () => (await pool.request({ path: '/v1/embeddings', method: 'POST', body: body(), headers: { 'content-type': 'application/json' } })).body.text());
    await pool.close();
    close();
  };
  await over('layers: plain node:http, fixed answer', (port) => {
    const server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      request.on('end', () => {
        JSON.parse(raw);
        response.writeHead(200, { 'content-type': 'application/json' }).end(answer);
      });
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(() => server.close())));
  });
  const route = createRoute({ method: 'post', path: '/v1/embeddings', request: { body: { content: { 'application/json': { schema: OpenAiEmbeddingRequestSchema } } } }, responses: { 200: { description: 'fixed' } } });
  const limits = { maxInputs: 2048, maxInputChars: 100_000 };
  const layers: [string, (app: OpenAPIHono) => void][] = [
    ['+ Hono and @hono/node-server', (app) => app.post('/v1/embeddings', async (c) => (await c.req.json(), c.body(answer, 200, { 'content-type': 'application/json' })))],
    ['+ the body guard’s scan', (app) => (app.use('*', bodyGuard(limits, () => 'input')), app.post('/v1/embeddings', async (c) => (await c.req.json(), c.body(answer, 200, { 'content-type': 'application/json' }))))],
    ['+ the request schema (zod)', (app) => (app.use('*', bodyGuard(limits, () => 'input')), app.openapi(route, (c) => (c.req.valid('json'), c.body(answer, 200, { 'content-type': 'application/json' }))))],
  ];
  for (const [name, build] of layers) {
    await over(`layers: ${name}, fixed answer`, async (port) => {
      const app = new OpenAPIHono();
      build(app);
      const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
      await new Promise((resolve) => server.once('listening', resolve));
      return () => server.close();
    });
  }
}

/** The in-memory queue's hand-off of a call: from `call` to a consumer that answers at once, and back. */
async function queueHandOff(): Promise<void> {
  const queue = new MemoryTaskQueue();
  const result = { vectors: [new Float32Array(384)], dimensions: 384, usage: { promptTokens: 10, totalTokens: 10 } };
  await queue.consume('L6', async (delivery) => (await delivery.call!.answer({ ok: true, result, startedAt: new Date(), finishedAt: new Date() }), delivery.ack()), { prefetch: 64 });
  const message = () => ({ taskId: freshShort(), model: 'L6', inputs: [text], priority: 0, enqueuedAt: new Date() });
  await measure('in-memory queue: a call handed to a worker and answered', () => queue.call(message(), AbortSignal.timeout(5_000)));
  await queue.close();
}

await main();
