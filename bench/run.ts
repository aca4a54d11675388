/*
 * npm run bench: throughput, latency and CPU of the service against the raw
 * onnxruntime ceiling and against a plain transformers.js server, all
 * measured in the same run on generated graphs with the exact
 * all-MiniLM-L6-v2 and L12-v2 shapes. Writes bench/results/<time>.json and
 * .md. See BENCHMARKS.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { MINILM_L12, MINILM_L6 } from '../test/support/bert-fixture.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { freePort, startProcess, type ServiceProcess } from '../test/support/processes.js';
import { waitFor } from '../test/support/wait.js';
import { freshMixed, freshShort, mixedText, SHORT_TEXTS } from './corpus.js';
import { CACHE, cpuMs, log, modelFolder } from './fixtures.js';
import { besideABatch } from './bulk.js';
import { drive, type LoadResult, type Route } from './load.js';
import { rawThroughput } from './raw.js';
import { compactReport, compactScenarios, type CompactRow } from './compact.js';
import { rerankReport, rerankScenarios, type RerankRow } from './rerank.js';
import { longDocReport, longDocScenarios, type LongDocRow } from './long-docs.js';
import { crossEncoderFolder } from './rerank.js';
import { int8Quality, quantized, type Int8Quality } from './int8.js';
import { halfSeen, identicalWithAndWithout, SEEN, warm } from './cache.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = 1;
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PEER = 'plain transformers.js server';
const FLOOR = 'HTTP floor: the same server, a fixed answer, no model';
/** BENCH_ONLY=embedded,broker (of raw, peer, embedded, broker, bulk, rerank, compact, long, int8, cache) runs those groups alone, to iterate on one path. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'raw,peer,embedded,broker,bulk,rerank,compact,long,int8,cache').split(','));
/** BENCH_CLIENTS=1 (or 1,64) runs only the load rows with those many clients. */
const CLIENTS = process.env.BENCH_CLIENTS ? new Set(process.env.BENCH_CLIENTS.split(',').map(Number)) : undefined;
/** Lines of the batch that runs beside the interactive client in the bulk rows. */
const BULK_LINES = 50_000;

interface Row {
  readonly model: string;
  readonly scenario: string;
  readonly route?: Route;
  readonly clients: number | '';
  readonly perSecond: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  readonly failed?: number;
  readonly cpuMsPerText?: number;
  readonly cpuMsPerTextBy?: Record<string, number>;
  readonly clientCpuMsPerText?: number;
  /** Mean texts per inference while the load ran (from the service's own metrics). */
  readonly meanBatch?: number;
}

const rows: Row[] = [];
const rss: Record<string, number> = {};
/** Per bulk scenario: lines a second the batch answered alone, and while the interactive client ran. */
const bulk: Record<string, { alone: number; beside: number }> = {};

/** Models by id: a folder, or a folder and the graph in it (an int8 copy's `onnx_file`). */
async function mlConfig(models: Record<string, string | { path: string; onnx_file: string }>): Promise<string> {
  const run = Date.now().toString(36);
  const entries = Object.entries(models).map(([id, where]) => ({ id, engine: 'onnx' as const, ...(typeof where === 'string' ? { path: where } : where), queue: `bench.${run}.${id}` }));
  return writeMlConfig(join(CACHE, `ml_config.${run}.yaml`), entries[0]!.id, entries);
}

/** Peak resident memory of a process so far, in MB (Linux). */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round(kb / 1024);
}

async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const { createConnection } = await import('node:net');
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The broker's and Redis's processes on this machine, whose CPU the broker rows count too. */
function brokerProcesses(): Record<string, number[]> {
  const pids = (pattern: string) => {
    try {
      return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  return { RabbitMQ: pids('beam.smp'), Redis: pids('redis-server') };
}

/** What a scenario runs against: a base URL, the processes whose CPU it counts (by name), and where their metrics are. */
interface Target {
  readonly base: string;
  readonly processes: Record<string, readonly number[]>;
  readonly metrics?: readonly string[];
}

/** Texts inferred and inferences run so far, summed over the service's processes (its Prometheus histogram). */
async function inferences(urls: readonly string[] = []): Promise<{ texts: number; runs: number }> {
  let texts = 0;
  let runs = 0;
  for (const url of urls) {
    const body = await fetch(url)
      .then((response) => response.text())
      .catch(() => '');
    for (const line of body.split('\n')) {
      const [name, value] = [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))];
      if (name.startsWith('embedding_inference_batch_size_sum')) texts += value;
      if (name.startsWith('embedding_inference_batch_size_count')) runs += value;
    }
  }
  return { texts, runs };
}

async function withService(label: string, env: Record<string, string>, rr: boolean, body: (target: Target) => Promise<void>): Promise<void> {
  const apiPort = await freePort();
  const common = { ...env, API_HOST: '127.0.0.1', API_PORT: String(apiPort), LOG_LEVEL: 'warn' };
  const processes: { name: string; process: ServiceProcess; port: number }[] = [];
  if (rr) {
    const healthPort = await freePort();
    const shared = { ...common, AMQP_URL, REDIS_URL, REDIS_KEY_PREFIX: `bench:${Date.now()}:` };
    processes.push({ name: 'api', process: startProcess(['--mode', 'api'], shared, true), port: apiPort });
    processes.push({
      name: 'worker',
      process: startProcess(['--mode', 'worker'], { ...shared, WORKER_HEALTH_PORT: String(healthPort) }, true),
      port: healthPort,
    });
  } else {
    processes.push({ name: 'all', process: startProcess(['--mode', 'all'], common, true), port: apiPort });
  }
  try {
    await Promise.all(processes.map((p) => p.process.ready(p.port, 60_000)));
    await body({
      base: `http://127.0.0.1:${apiPort}`,
      processes: { ...Object.fromEntries(processes.map((p) => [p.name, [p.process.child.pid!]])), ...(rr ? brokerProcesses() : {}) },
      metrics: processes.map((p) => `http://127.0.0.1:${p.port}/metrics`),
    });
    for (const p of processes) rss[`${label} (${p.name})`] = await peakRssMb(p.process.child.pid!);
  } finally {
    await Promise.all(processes.map((p) => p.process.stop()));
  }
}

/**
 * The peer: bench/peer-server.mjs on the same folder, run by node. With
 * `canned`, the same server answers a fixed vector without running the model:
 * the floor any HTTP server pays on this machine, client included.
 */
async function withPeer(folder: string, body: (target: Target) => Promise<void>, canned = false): Promise<void> {
  const port = await freePort();
  const args = [join(REPO_ROOT, 'bench', 'peer-server.mjs'), folder, String(port), ...(canned ? ['--canned'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.ok === true, 60_000, 'the peer server');
    await body({ base: `http://127.0.0.1:${port}`, processes: { server: [child.pid!] } });
    if (!canned) rss[`${PEER}`] = await peakRssMb(child.pid!);
  } finally {
    child.kill('SIGTERM');
  }
}

async function load(
  target: Target,
  model: string,
  scenario: string,
  route: Route,
  clients: number,
  text: (i: number) => string = freshShort,
  warmupSeconds = WARMUP,
) {
  if (CLIENTS && !CLIENTS.has(clients)) return;
  const cpu = async () => {
    const entries = await Promise.all(
      Object.entries(target.processes).map(async ([name, pids]) => [name, (await Promise.all(pids.map(cpuMs))).reduce((sum, ms) => sum + ms, 0)] as const),
    );
    return Object.fromEntries(entries);
  };
  const before = await inferences(target.metrics);
  const result: LoadResult = await drive(target.base, { clients, warmupSeconds, seconds: SECONDS, model, route, text, cpuMs: cpu });
  const after = await inferences(target.metrics);
  const meanBatch = after.runs > before.runs ? (after.texts - before.texts) / (after.runs - before.runs) : undefined;
  rows.push({ model, scenario, route, clients, ...result, ...(meanBatch !== undefined && { meanBatch }) });
  log(`${model} ${scenario} (${route}) ×${clients}: ${result.perSecond.toFixed(0)}/s p50 ${result.p50.toFixed(1)} ms, ${result.cpuMsPerText?.toFixed(2)} CPU ms/text`);
}

async function main(): Promise<void> {
  await mkdir(CACHE, { recursive: true });
  // The service runs as it does in production: compiled JavaScript, not through tsx.
  log('building dist/…');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const l6 = await modelFolder('all-MiniLM-L6-v2-shape', MINILM_L6);
  const l12 = await modelFolder('all-MiniLM-L12-v2-shape', MINILM_L12);

  const ceilings: Record<string, number> = {};
  const rawSingleMs: Record<string, number> = {};
  const rawCpu: Record<string, number> = {};
  for (const [model, dir, sizes] of [
    ['L6', l6, ONLY.has('raw') ? [1, 8, 32, 128] : [1, 128]],
    ['L12', l12, ONLY.has('raw') ? [1, 32, 128] : [1, 128]],
  ] as const) {
    for (const size of sizes) {
      const { perSecond, batchMs, cpuMsPerText } = await rawThroughput(dir, SHORT_TEXTS, size, SECONDS);
      rows.push({ model, scenario: `raw onnxruntime, batch ${size}`, clients: '', perSecond, cpuMsPerText });
      ceilings[model] = Math.max(ceilings[model] ?? 0, perSecond);
      rawCpu[`${model} ${size}`] = cpuMsPerText;
      if (size === 1) rawSingleMs[model] = batchMs;
      log(`${model} raw batch ${size}: ${perSecond.toFixed(0)}/s, ${cpuMsPerText.toFixed(2)} CPU ms/text`);
    }
  }

  // int8 (issue 28): the same texts and batch through the quantized graph, beside fp32's batch 32 above.
  const l6Int8 = await quantized(l6);
  if (ONLY.has('int8')) {
    if (!ONLY.has('raw')) {
      const fp32 = await rawThroughput(l6, SHORT_TEXTS, 32, SECONDS);
      rows.push({ model: 'L6', scenario: 'raw onnxruntime, batch 32', clients: '', perSecond: fp32.perSecond, cpuMsPerText: fp32.cpuMsPerText });
    }
    const { perSecond, cpuMsPerText } = await rawThroughput(l6, SHORT_TEXTS, 32, SECONDS, l6Int8);
    rows.push({ model: 'L6-int8', scenario: 'raw onnxruntime, batch 32', clients: '', perSecond, cpuMsPerText });
    ceilings['L6-int8'] = perSecond;
    log(`L6 int8 raw batch 32: ${perSecond.toFixed(0)}/s`);
  }

  // The mixed workload's own ceiling: the same 3-short-to-1-long mix, sorted by length into batches of 32.
  const mixed = Array.from({ length: 512 }, (_, i) => mixedText(i)).sort((a, b) => a.length - b.length);
  const mixedRaw = await rawThroughput(l6, mixed, 32, SECONDS);
  rows.push({ model: 'L6', scenario: 'raw onnxruntime, mixed lengths, batch 32', clients: '', perSecond: mixedRaw.perSecond, cpuMsPerText: mixedRaw.cpuMsPerText });
  ceilings['L6 mixed'] = mixedRaw.perSecond;
  log(`L6 raw mixed batch 32: ${mixedRaw.perSecond.toFixed(0)}/s`);

  if (ONLY.has('peer')) {
    await withPeer(l6, async (peer) => {
      for (const clients of [1, 16, 64]) await load(peer, 'L6', PEER, 'sync', clients);
    });
    await withPeer(l6, (floor) => load(floor, 'L6', FLOOR, 'sync', 1), true);
  }

  const config = await mlConfig({ L6: l6, L12: l12, 'L6-int8': { path: l6, onnx_file: l6Int8 } });
  const env = { ML_CONFIG_PATH: config, WORKER_MODELS: 'L6' };
  if (ONLY.has('embedded')) await embeddedScenarios(env);
  if (ONLY.has('int8')) {
    if (!ONLY.has('embedded')) await withService('embedded, batching on', env, false, (service) => load(service, 'L6', 'embedded', 'sync', 64));
    await withService('embedded, int8', { ...env, WORKER_MODELS: 'L6-int8' }, false, (service) => load(service, 'L6-int8', 'embedded', 'sync', 64));
    const reranker = await crossEncoderFolder();
    int8 = await int8Quality(l6, l6Int8, reranker, { fp32: 'onnx/model.onnx', int8: await quantized(reranker, 'onnx/model.onnx') });
  }
  if (ONLY.has('cache')) await cacheScenarios(env, l6);
  const brokers = ONLY.has('broker') && (await reachable(AMQP_URL)) && (await reachable(REDIS_URL));
  if (brokers) await brokerScenarios(env);
  else if (ONLY.has('broker')) log(`RabbitMQ or Redis not reachable (${AMQP_URL}, ${REDIS_URL}); skipping those scenarios`);
  if (ONLY.has('bulk')) await bulkScenarios(env, (await reachable(AMQP_URL)) && (await reachable(REDIS_URL)));
  // A rerank request takes seconds at 16 clients: a longer window, so that it holds many.
  const rerankBrokers = (await reachable(AMQP_URL)) && (await reachable(REDIS_URL)) ? { amqpUrl: AMQP_URL, redisUrl: REDIS_URL } : undefined;
  const rerank = ONLY.has('rerank') ? await rerankScenarios(SECONDS * 3, WARMUP * 3, rerankBrokers) : [];
  const compacts = ONLY.has('compact') ? await compactScenarios() : [];
  // A 2,000-token document takes about a second alone: a longer window, as for reranking.
  const longDocs = ONLY.has('long') ? await longDocScenarios(l6, SECONDS * 3, WARMUP * 3) : [];

  await report({ ceilings, rawSingleMs, rawCpu }, brokers, { rerank, compacts, longDocs });
}

let int8: Int8Quality | undefined;
let identical: boolean | undefined;

/**
 * The embedding cache (issue 28): half the texts seen before, at 64 clients,
 * with the cache (the default) and without; a lone client whose every text
 * is cached, against the HTTP floor; and whether cached answers equal
 * computed ones.
 */
async function cacheScenarios(env: Record<string, string>, l6: string): Promise<void> {
  await withService('embedded, cache on', env, false, async (service) => {
    await warm(service.base, 'L6');
    identical = await identicalWithAndWithout(service.base, 'L6');
    await load(service, 'L6', 'embedded, half the texts seen before', 'sync', 64, halfSeen);
    await load(service, 'L6', 'embedded, every text cached', 'sync', 1, (i) => SEEN[i % SEEN.length]!);
  });
  await withService('embedded, cache off', { ...env, EMBEDDING_CACHE: 'off' }, false, (service) =>
    load(service, 'L6', 'embedded, cache off, half the texts seen before', 'sync', 64, halfSeen),
  );
  if (!find('L6', FLOOR, 1)) await withPeer(l6, (floor) => load(floor, 'L6', FLOOR, 'sync', 1), true);
}

async function embeddedScenarios(env: Record<string, string>): Promise<void> {
  await withService('embedded, batching on', env, false, async (service) => {
    for (const clients of [1, 16, 64]) await load(service, 'L6', 'embedded', 'sync', clients);
    for (const clients of [1, 64]) await load(service, 'L6', 'embedded', 'task', clients);
    // Long texts bring new tensor shapes: onnxruntime's first batches of each shape are slow, so warm up longer.
    await load(service, 'L6', 'embedded, mixed lengths', 'sync', 64, freshMixed, 4);
  });
  await withService('embedded, batching off', { ...env, WORKER_BATCHING: 'false' }, false, async (service) => {
    await load(service, 'L6', 'embedded, batching off', 'sync', 64);
  });
  // The operator's choice for few clients (WORKER_SPINNING): what it buys one client and costs 64.
  await withService('embedded, spinning threads', { ...env, WORKER_SPINNING: 'true' }, false, async (service) => {
    for (const clients of [1, 64]) await load(service, 'L6', 'embedded, spinning threads', 'sync', clients);
  });
  await withService('embedded L12', { ...env, WORKER_MODELS: 'L12' }, false, async (service) => {
    await load(service, 'L12', 'embedded', 'sync', 64);
  });
}

async function brokerScenarios(env: Record<string, string>): Promise<void> {
  await withService('RabbitMQ + Redis, batching on', env, true, async (service) => {
    for (const clients of [1, 16, 64]) await load(service, 'L6', 'RabbitMQ + Redis, 1 worker', 'sync', clients);
    await load(service, 'L6', 'RabbitMQ + Redis, 1 worker', 'task', 1);
  });
  // Issue 29's coalescing (on by default, in the rows above): the same loads with every call a message of its own.
  await withService('RabbitMQ + Redis, calls not coalesced', { ...env, QUEUE_COALESCE_CALLS: 'false' }, true, async (service) => {
    for (const clients of [1, 16, 64]) await load(service, 'L6', 'RabbitMQ + Redis, calls not coalesced', 'sync', clients);
  });
  // Coalesced calls would merge texts again: each call is a message of its own here.
  await withService('RabbitMQ + Redis, batching off', { ...env, WORKER_BATCHING: 'false', QUEUE_COALESCE_CALLS: 'false' }, true, async (service) => {
    await load(service, 'L6', 'RabbitMQ + Redis, batching off', 'sync', 64);
  });
}

/** A lone interactive client, idle and then beside a 50,000-line batch on the bulk lane of the same model. */
async function bulkScenarios(env: Record<string, string>, brokers: boolean): Promise<void> {
  const paths: [string, boolean][] = [['embedded', false], ...(brokers ? [['RabbitMQ + Redis', true] as [string, boolean]] : [])];
  for (const [label, rr] of paths) {
    await withService(`${label}, bulk lane`, env, rr, async (service) => {
      await load(service, 'L6', `${label}, idle`, 'sync', 1);
      const pace = await besideABatch(service.base, 'L6', BULK_LINES, () => load(service, 'L6', `${label}, beside a ${BULK_LINES}-line batch`, 'sync', 1));
      bulk[label] = { alone: pace.alonePerSecond, beside: pace.besidePerSecond };
    });
  }
}

function find(model: string, scenario: string, clients: number, route: Route = 'sync'): Row | undefined {
  return rows.find((r) => r.model === model && r.scenario === scenario && r.clients === clients && r.route === route);
}

interface Raw {
  readonly ceilings: Record<string, number>;
  readonly rawSingleMs: Record<string, number>;
  readonly rawCpu: Record<string, number>;
}

async function report(
  { ceilings, rawSingleMs, rawCpu }: Raw,
  brokers: boolean,
  { rerank, compacts, longDocs }: { rerank: readonly RerankRow[]; compacts: readonly CompactRow[]; longDocs: readonly LongDocRow[] },
) {
  // A mixed-length workload is compared with the raw ceiling of the same mix.
  const ceilingOf = (r: Row) => (r.scenario.includes('mixed') ? ceilings['L6 mixed']! : ceilings[r.model]!);
  const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
  const peerRatio = (r: Row) => {
    const peer = r.route === 'sync' && r.clients !== '' ? find(r.model, PEER, r.clients) : undefined;
    return peer && r.scenario !== PEER && r.scenario !== FLOOR ? (r.perSecond / peer.perSecond).toFixed(2) : '';
  };
  const lines = [
    `# Benchmark, ${new Date().toISOString()}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Each load runs ${SECONDS} s after ${WARMUP} s of warm-up; each client sends one 10-word text and waits for its vector, then sends the next.`,
    'Route `sync` is `POST /v1/embeddings` (`encoding_format: float`); `task` is `POST /v1/embeddings/tasks` and a long poll for the result.',
    'The service runs compiled (`npm run build`, `node dist/…`) in its own processes; the clients run in the benchmark process, on the same cores.',
    'CPU ms per text counts the processes under test (and RabbitMQ and Redis in their rows), from /proc; for raw rows, the benchmark process.',
    '',
    '| Model | Scenario | Route | Clients | Texts/s | × raw ceiling | × peer | p50 ms | p95 ms | p99 ms | CPU ms/text |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.scenario} | ${r.route ?? ''} | ${r.clients} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / ceilingOf(r)).toFixed(2)} | ${peerRatio(r)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.cpuMsPerText, 2)} |`,
    ),
    '',
    '| Process | Peak RSS MB |',
    '| --- | ---: |',
    ...Object.entries(rss).map(([name, mb]) => `| ${name} | ${mb} |`),
    '',
    'Where the CPU goes, and how full the batches were: CPU ms per text by process, the load generator (the benchmark process, on the same cores) apart, and mean texts per inference during the load.',
    '',
    '| Model | Scenario | Route | Clients | Texts per inference | CPU ms/text by process | Load generator CPU ms/text |',
    '| --- | --- | --- | ---: | ---: | --- | ---: |',
    ...rows
      .filter((r) => r.cpuMsPerTextBy && r.clients !== '')
      .map(
        (r) =>
          `| ${r.model} | ${r.scenario} | ${r.route ?? ''} | ${r.clients} | ${fmt(r.meanBatch)} | ${Object.entries(r.cpuMsPerTextBy!)
            .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
            .join(', ')} | ${fmt(r.clientCpuMsPerText, 2)} |`,
      ),
    '',
    '## Targets',
    '',
    '| Target | Wanted | Measured | Met |',
    '| --- | --- | --- | --- |',
  ];
  const target = (name: string, wanted: string, measured: number | undefined, ok: (x: number) => boolean, unit = '') => {
    const value = measured === undefined || Number.isNaN(measured) ? 'not measured' : `${measured.toFixed(2)}${unit}`;
    const met = measured === undefined || Number.isNaN(measured) ? '—' : ok(measured) ? 'yes' : 'no';
    lines.push(`| ${name} | ${wanted} | ${value} | ${met} |`);
  };
  const ratio = (row: Row | undefined) => (row ? row.perSecond / ceilings[row.model]! : undefined);
  const lone = find('L6', 'embedded', 1);
  const loneR = find('L6', 'RabbitMQ + Redis, 1 worker', 1);
  const peer1 = find('L6', PEER, 1);
  const embedded64 = find('L6', 'embedded', 64);
  const rr64 = find('L6', 'RabbitMQ + Redis, 1 worker', 64);
  target('1 client, p50 over raw batch-1 inference, embedded', '≤ 1 ms', lone ? lone.p50! - rawSingleMs.L6! : undefined, (x) => x <= 1, ' ms');
  target('1 client, p50 over raw batch-1 inference, RabbitMQ + Redis', '≤ 3 ms', brokers && loneR ? loneR.p50! - rawSingleMs.L6! : undefined, (x) => x <= 3, ' ms');
  target('1 client, throughput / the peer’s, embedded', '≥ 1×', lone && peer1 ? lone.perSecond / peer1.perSecond : undefined, (x) => x >= 1, '×');
  const loneSpinning = find('L6', 'embedded, spinning threads', 1);
  target(
    '1 client, throughput / the peer’s, embedded with WORKER_SPINNING=true (not the default)',
    '≥ 1×',
    loneSpinning && peer1 ? loneSpinning.perSecond / peer1.perSecond : undefined,
    (x) => x >= 1,
    '×',
  );
  target('64 clients, embedded', '≥ 0.85 × ceiling', ratio(embedded64), (x) => x >= 0.85, '×');
  target('64 clients, RabbitMQ + Redis', '≥ 0.75 × ceiling', brokers ? ratio(rr64) : undefined, (x) => x >= 0.75, '×');
  // Issue 29: the distributed path against the embedded one, and the embedded one against the plain server.
  target('1 client, p50 through RabbitMQ − embedded p50', '≤ 2 ms', brokers && loneR && lone ? loneR.p50! - lone.p50! : undefined, (x) => x <= 2, ' ms');
  target('64 clients, RabbitMQ + Redis / embedded', '≥ 0.85×', brokers && rr64 && embedded64 ? rr64.perSecond / embedded64.perSecond : undefined, (x) => x >= 0.85, '×');
  const cpuRatio = brokers && rr64?.cpuMsPerText !== undefined && embedded64?.cpuMsPerText !== undefined ? rr64.cpuMsPerText / embedded64.cpuMsPerText : undefined;
  target('CPU per text at 64 clients, RabbitMQ + Redis (every process, broker and store included) / embedded', '≤ 1.25×', cpuRatio, (x) => x <= 1.25, '×');
  const apart64 = find('L6', 'RabbitMQ + Redis, calls not coalesced', 64);
  target('64 clients, RabbitMQ + Redis, calls coalesced / not (kept only if it wins)', '≥ 1×', brokers && rr64 && apart64 ? rr64.perSecond / apart64.perSecond : undefined, (x) => x >= 1, '×');
  const peer64 = find('L6', PEER, 64);
  target('64 clients, throughput / the peer’s, embedded', '≥ 2×', embedded64 && peer64 ? embedded64.perSecond / peer64.perSecond : undefined, (x) => x >= 2, '×');
  target('CPU per text at 64 clients / raw batch 128, embedded', '≤ 1.1×', embedded64?.cpuMsPerText !== undefined ? embedded64.cpuMsPerText / rawCpu['L6 128']! : undefined, (x) => x <= 1.1, '×');
  const mixedRow = find('L6', 'embedded, mixed lengths', 64);
  target('mixed lengths, 64 clients / their own raw ceiling', '≥ 0.8×', mixedRow ? mixedRow.perSecond / ceilings['L6 mixed']! : undefined, (x) => x >= 0.8, '×');
  const offE = find('L6', 'embedded, batching off', 64);
  target('batching on / off, embedded, 64 clients', '≥ 1.6×', embedded64 && offE ? embedded64.perSecond / offE.perSecond : undefined, (x) => x >= 1.6, '×');
  for (const label of Object.keys(bulk)) {
    const idle = find('L6', `${label}, idle`, 1);
    const beside = find('L6', `${label}, beside a ${BULK_LINES}-line batch`, 1);
    const pace = `the batch: ${bulk[label]!.alone.toFixed(0)} lines/s alone, ${bulk[label]!.beside.toFixed(0)} beside the client`;
    target(`1 client beside a ${BULK_LINES}-line batch, p50 / idle, ${label} (${pace})`, '≤ 2×', idle && beside ? beside.p50! / idle.p50! : undefined, (x) => x <= 2, '×');
  }
  const rawFp32At32 = rows.find((r) => r.model === 'L6' && r.scenario === 'raw onnxruntime, batch 32');
  const int8At64 = find('L6-int8', 'embedded', 64);
  target('int8: raw batch 32 / fp32 raw batch 32', '≥ 1.8×', ceilings['L6-int8'] && rawFp32At32 ? ceilings['L6-int8'] / rawFp32At32.perSecond : undefined, (x) => x >= 1.8, '×');
  target('int8: the service at 64 clients / fp32’s', '≥ 1.6×', int8At64 && embedded64 ? int8At64.perSecond / embedded64.perSecond : undefined, (x) => x >= 1.6, '×');
  target(`int8: mean cosine to fp32 over ${int8?.texts ?? 10_000} texts (minimum ${int8?.minCosine.toFixed(4) ?? '—'})`, '≥ 0.99', int8?.meanCosine, (x) => x >= 0.99);
  target(`int8: top-10 neighbours of ${int8?.queries ?? 100} queries, overlap with fp32’s`, '≥ 0.9', int8?.top10Overlap, (x) => x >= 0.9);
  target(
    `int8 reranker: score correlation with fp32 (largest difference ${int8?.rerankMaxDifference.toFixed(3) ?? '—'}; weights rounded to int8 but run in float: ${int8?.rerankRoundedCorrelation.toFixed(2) ?? '—'})`,
    '≥ 0.99',
    int8?.rerankCorrelation,
    (x) => x >= 0.99,
  );
  const halfOn = find('L6', 'embedded, half the texts seen before', 64);
  const halfOff = find('L6', 'embedded, cache off, half the texts seen before', 64);
  const cachedLone = find('L6', 'embedded, every text cached', 1);
  const floorRow = find('L6', FLOOR, 1);
  target('cache: half the texts seen before, 64 clients, cache on / off', '≥ 1.8×', halfOn && halfOff ? halfOn.perSecond / halfOff.perSecond : undefined, (x) => x >= 1.8, '×');
  target('cache: a lone fully cached request, p50 over the HTTP floor', '≤ 1 ms', cachedLone && floorRow ? cachedLone.p50! - floorRow.p50! : undefined, (x) => x <= 1, ' ms');
  target('cache: cached answers equal computed ones, vectors and usage (1 = yes)', '1', identical === undefined ? undefined : Number(identical), (x) => x === 1);
  target('worker peak RSS under load, L6', '≤ 300 MB', rss['RabbitMQ + Redis, batching on (worker)'], (x) => x <= 300, ' MB');
  target('API peak RSS under load', '≤ 150 MB', rss['RabbitMQ + Redis, batching on (api)'], (x) => x <= 150, ' MB');
  const floor = find('L6', FLOOR, 1);
  lines.push(
    '',
    ...(floor && peer1
      ? [
          `A lone request's floor on this machine: ${floor.p50!.toFixed(2)} ms at p50 for an HTTP round trip with a fixed 384-float answer and no model;`,
          `the plain transformers.js server's lone request took ${(peer1.p50! - rawSingleMs.L6!).toFixed(2)} ms over raw batch 1.`,
        ]
      : []),
    `Raw single-text inference (batch 1 median): L6 ${rawSingleMs.L6!.toFixed(2)} ms, L12 ${rawSingleMs.L12!.toFixed(2)} ms.`,
    `Raw CPU per text: L6 batch 1 ${rawCpu['L6 1']!.toFixed(2)} ms, batch 128 ${rawCpu['L6 128']!.toFixed(2)} ms.`,
    ...(rerank.length > 0 ? rerankReport(rerank) : []),
    ...(compacts.length > 0 ? compactReport(compacts) : []),
    ...(longDocs.length > 0 ? longDocReport(longDocs) : []),
    ...(int8
      ? [
          '',
          `int8 model files: ${(int8.bytes.fp32 / 2 ** 20).toFixed(1)} MB fp32, ${(int8.bytes.int8 / 2 ** 20).toFixed(1)} MB int8.`,
          'Every service row but the cache rows sends texts never sent before, so that none measures the cache by accident.',
        ]
      : []),
  );

  const markdown = `${lines.join('\n')}\n`;
  const dir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(dir, `${stamp}.md`), markdown);
  await writeFile(join(dir, `${stamp}.json`), JSON.stringify({ ceilings, rawSingleMs, rawCpu, rows, rss, rerank, longDocs, int8, identical }, null, 2));
  await writeFile(join(dir, 'latest.md'), markdown);
  process.stdout.write(markdown);
}

await access(REPO_ROOT);
await main();
