/*
 * npm run capacity:measure: measures what the capacity model (model.ts,
 * docs/capacity.md) is built on, on this machine, and writes
 * docs/capacity.json; then checks the model against measured points with
 * one and with two workers. Needs RabbitMQ and Redis (AMQP_URL, REDIS_URL,
 * default the machine's) and, for broker message counts, RabbitMQ's
 * Prometheus plugin on 15692.
 *
 * Each worker runs with one intra-op thread: a worker is sized as one core.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { MINILM_L12, MINILM_L6 } from '../../test/support/bert-fixture.js';
import { writeMlConfig } from '../../test/support/ml-config.js';
import { REPO_ROOT } from '../../test/support/paths.js';
import { freePort, startProcess, untilServed, type ServiceProcess } from '../../test/support/processes.js';
import { freshShort } from '../corpus.js';
import { CACHE, cpuMs, log, modelFolder } from '../fixtures.js';
import { drive } from '../load.js';
import { p95Ms, plan, type Measured } from './model.js';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BATCH_SIZES = [8, 32];

interface Deployment {
  readonly base: string;
  readonly api: ServiceProcess;
  stop(): Promise<void>;
}

async function deploy(model: string, folder: string, workers: number, batchSize: number): Promise<Deployment> {
  const namespace = `capacity-${randomUUID().slice(0, 8)}`;
  const mlConfig = await writeMlConfig(join(CACHE, `capacity-${model}.yaml`), model, [{ id: model, engine: 'onnx', path: folder }]);
  const apiPort = await freePort();
  const env = {
    ML_CONFIG_PATH: mlConfig,
    AMQP_URL,
    REDIS_URL,
    DEPLOYMENT_NAMESPACE: namespace,
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    WORKER_THREADS: '1',
    WORKER_MAX_BATCH_SIZE: String(batchSize),
    WORKER_PREFETCH: String(Math.max(64, batchSize * 2)),
    WORKER_HEARTBEAT_SECONDS: '1',
    RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
  };
  const api = startProcess(['--mode', 'api'], env);
  const started = [api];
  await api.ready(apiPort, 60_000);
  for (let i = 0; i < workers; i++) {
    const port = await freePort();
    const worker = startProcess(['--mode', 'worker'], { ...env, WORKER_HEALTH_PORT: String(port) });
    started.push(worker);
    await worker.ready(port, 60_000);
  }
  await untilServed(apiPort, model);
  return { base: `http://127.0.0.1:${apiPort}`, api, stop: async () => void (await Promise.all(started.map((p) => p.stop()))) };
}

async function brokerMessages(): Promise<number> {
  const text = await (await fetch('http://127.0.0.1:15692/metrics')).text();
  const sum = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return sum('rabbitmq_global_messages_received_total') + sum('rabbitmq_global_messages_delivered_total');
}

async function redisCommands(redis: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1]);
}

/** Async tasks of one text, 8 at a time, each awaited with a long poll: broker messages and Redis commands per text. */
async function perTextCosts(base: string, model: string): Promise<{ broker: number; redis: number }> {
  const redis = new Redis(REDIS_URL);
  const pool = new Pool(base, { connections: 16 });
  const TASKS = 400;
  try {
    const [brokerBefore, redisBefore] = await Promise.all([brokerMessages(), redisCommands(redis)]);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < TASKS) {
          next++;
          const submit = await pool.request({ path: '/v1/embeddings/tasks', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: freshShort(), model }) });
          const { id } = (await submit.body.json()) as { id: string };
          await (await pool.request({ path: `/v1/embeddings/tasks/${id}?wait=30`, method: 'GET' })).body.json();
        }
      }),
    );
    const [brokerAfter, redisAfter] = await Promise.all([brokerMessages(), redisCommands(redis)]);
    return { broker: (brokerAfter - brokerBefore) / TASKS, redis: (redisAfter - redisBefore) / TASKS };
  } finally {
    await pool.close();
    redis.disconnect();
  }
}

/** Open loop: one-text sync requests at `rate` a second, evenly spaced, for `seconds`; their p95 in ms and the rate finished. */
async function atRate(base: string, model: string, rate: number, seconds: number): Promise<{ p95: number; finishedPerSecond: number }> {
  const pool = new Pool(base, { connections: 256 });
  const latencies: number[] = [];
  const started = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = started + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const sentAt = performance.now();
    sends.push(
      pool
        .request({ path: '/v1/embeddings', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: freshShort(), model }) })
        .then(async (response) => {
          await response.body.json();
          if (response.statusCode === 200) latencies.push(performance.now() - sentAt);
        }),
    );
  }
  await Promise.all(sends);
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { p95: latencies[Math.floor(latencies.length * 0.95)] ?? NaN, finishedPerSecond: latencies.length / elapsed };
}

const saturate = (base: string, model: string, api: ServiceProcess) =>
  drive(base, { clients: 64, warmupSeconds: 2, seconds: 8, model, route: 'sync', text: () => freshShort(), cpuMs: async () => ({ api: await cpuMs(api.child.pid!) }) });

const models: Record<string, Measured> = {};
const checks: unknown[] = [];
for (const [model, shape] of [['all-MiniLM-L6-v2', MINILM_L6], ['all-MiniLM-L12-v2', MINILM_L12]] as const) {
  const folder = await modelFolder(model === 'all-MiniLM-L6-v2' ? 'minilm-l6' : 'minilm-l12', shape);
  const workerTextsPerSecond: Record<string, number> = {};
  let apiCpuMsPerRequest = 0;
  for (const batchSize of BATCH_SIZES) {
    const deployment = await deploy(model, folder, 1, batchSize);
    try {
      const saturated = await saturate(deployment.base, model, deployment.api);
      workerTextsPerSecond[String(batchSize)] = Math.round(saturated.perSecond);
      apiCpuMsPerRequest = Math.max(apiCpuMsPerRequest, saturated.cpuMsPerTextBy?.api ?? 0);
      log(`${model} batch ${batchSize}: ${Math.round(saturated.perSecond)} texts/s, API ${saturated.cpuMsPerTextBy?.api?.toFixed(2)} CPU ms/request`);
    } finally {
      await deployment.stop();
    }
  }
  const deployment = await deploy(model, folder, 1, 32);
  try {
    const lone = await drive(deployment.base, { clients: 1, warmupSeconds: 1, seconds: 5, model, route: 'sync', text: () => freshShort() });
    const costs = await perTextCosts(deployment.base, model);
    models[model] = {
      workerTextsPerSecond,
      loneRequestMs: { p50: Number(lone.p50.toFixed(1)), p95: Number(lone.p95.toFixed(1)) },
      apiCpuMsPerRequest: Number(apiCpuMsPerRequest.toFixed(2)),
      brokerMessagesPerText: Number(costs.broker.toFixed(1)),
      redisCommandsPerText: Number(costs.redis.toFixed(1)),
    };
    log(`${model}: ${JSON.stringify(models[model])}`);
  } finally {
    await deployment.stop();
  }
}

// The model against measured points: one and two workers of L6, batches of 32, at 60% of what the model says they sustain.
const l6 = models['all-MiniLM-L6-v2']!;
const folder = await modelFolder('minilm-l6', MINILM_L6);
for (const workers of [1, 2]) {
  const deployment = await deploy('all-MiniLM-L6-v2', folder, workers, 32);
  try {
    const saturated = await saturate(deployment.base, 'all-MiniLM-L6-v2', deployment.api);
    const predicted = workers * l6.workerTextsPerSecond['32']!;
    const rate = Math.round(0.6 * predicted);
    const measured = await atRate(deployment.base, 'all-MiniLM-L6-v2', rate, 10);
    const predictedP95 = p95Ms(l6, { workers, perWorker: l6.workerTextsPerSecond['32']!, rate, textsPerRequest: 1 });
    checks.push({
      workers,
      saturation: { predicted, measured: Math.round(saturated.perSecond) },
      [`p95 at ${rate} texts/s`]: { predicted: Math.round(predictedP95), measured: Math.round(measured.p95), finishedPerSecond: Math.round(measured.finishedPerSecond) },
    });
    log(`check, ${workers} worker(s): ${JSON.stringify(checks[checks.length - 1])}`);
  } finally {
    await deployment.stop();
  }
}

const example = plan(l6, { rate: 2000, batchSize: 32, textsPerRequest: 1 });
await writeFile(
  join(REPO_ROOT, 'docs', 'capacity.json'),
  `${JSON.stringify({ measuredAt: new Date().toISOString().slice(0, 10), machine: '2 cores, workers at one intra-op thread each', models, checks, example: { rate: 2000, ...example } }, null, 2)}\n`,
);
log('wrote docs/capacity.json');
