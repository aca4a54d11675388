/*
 * npm run bench: throughput and latency of the service against the raw
 * onnxruntime ceiling measured in the same run, on generated graphs with the
 * exact all-MiniLM-L6-v2 and L12-v2 shapes. Writes bench/results/<time>.json
 * and .md. See BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { MINILM_L12, MINILM_L6 } from '../test/support/bert-fixture.js';
import { freePort, startProcess, type ServiceProcess } from '../test/support/processes.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { mixedText, SHORT_TEXTS } from './corpus.js';
import { drive, type LoadResult } from './load.js';
import { CACHE, log, modelFolder } from './fixtures.js';
import { rawThroughput } from './raw.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = 1;
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Row {
  readonly model: string;
  readonly scenario: string;
  readonly clients: number | '';
  readonly perSecond: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  readonly failed?: number;
}

const rows: Row[] = [];
const rss: Record<string, number> = {};

async function mlConfig(models: Record<string, string>): Promise<string> {
  const run = Date.now().toString(36);
  const entries = Object.entries(models).map(([id, path]) => ({ id, engine: 'onnx' as const, path, queue: `bench.${run}.${id}` }));
  return writeMlConfig(join(CACHE, `ml_config.${run}.yaml`), entries[0]!.id, entries);
}

/** Peak resident memory of a process so far, in MB (Linux). */
async function peakRssMb(service: ServiceProcess): Promise<number> {
  const status = await readFile(`/proc/${service.child.pid}/status`, 'utf8').catch(() => '');
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

async function withService(
  label: string,
  env: Record<string, string>,
  rr: boolean,
  body: (base: string) => Promise<void>,
): Promise<void> {
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
    await body(`http://127.0.0.1:${apiPort}`);
    for (const p of processes) rss[`${label} (${p.name})`] = await peakRssMb(p.process);
  } finally {
    await Promise.all(processes.map((p) => p.process.stop()));
  }
}

async function load(
  base: string,
  model: string,
  scenario: string,
  clients: number,
  text = (i: number) => SHORT_TEXTS[i % SHORT_TEXTS.length]!,
  warmupSeconds = WARMUP,
) {
  const result: LoadResult = await drive(base, { clients, warmupSeconds, seconds: SECONDS, model, text });
  rows.push({ model, scenario, clients, ...result });
  log(`${model} ${scenario} ×${clients}: ${result.perSecond.toFixed(0)}/s p50 ${result.p50.toFixed(1)} ms`);
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
  for (const [model, dir, sizes] of [
    ['L6', l6, [1, 8, 32, 128]],
    ['L12', l12, [1, 32, 128]],
  ] as const) {
    for (const size of sizes) {
      const { perSecond, batchMs } = await rawThroughput(dir, SHORT_TEXTS, size, SECONDS);
      rows.push({ model, scenario: `raw onnxruntime, batch ${size}`, clients: '', perSecond });
      ceilings[model] = Math.max(ceilings[model] ?? 0, perSecond);
      if (size === 1) rawSingleMs[model] = batchMs;
      log(`${model} raw batch ${size}: ${perSecond.toFixed(0)}/s`);
    }
  }

  // The mixed workload's own ceiling: the same 3-short-to-1-long mix, sorted by length into batches of 32.
  const mixed = Array.from({ length: 512 }, (_, i) => mixedText(i)).sort((a, b) => a.length - b.length);
  const mixedRaw = await rawThroughput(l6, mixed, 32, SECONDS);
  rows.push({ model: 'L6', scenario: 'raw onnxruntime, mixed lengths, batch 32', clients: '', perSecond: mixedRaw.perSecond });
  ceilings['L6 mixed'] = mixedRaw.perSecond;
  log(`L6 raw mixed batch 32: ${mixedRaw.perSecond.toFixed(0)}/s`);

  const config = await mlConfig({ L6: l6, L12: l12 });
  const env = { ML_CONFIG_PATH: config, WORKER_MODELS: 'L6' };
  await withService('embedded, batching on', env, false, async (base) => {
    for (const clients of [1, 16, 64]) await load(base, 'L6', 'embedded', clients);
    // Long texts bring new tensor shapes: onnxruntime's first batches of each shape are slow, so warm up longer.
    await load(base, 'L6', 'embedded, mixed lengths', 64, mixedText, 4);
  });
  await withService('embedded, batching off', { ...env, WORKER_BATCHING: 'false' }, false, async (base) => {
    await load(base, 'L6', 'embedded, batching off', 64);
  });
  await withService('embedded L12', { ...env, WORKER_MODELS: 'L12' }, false, async (base) => {
    await load(base, 'L12', 'embedded', 64);
  });

  const brokers = (await reachable(AMQP_URL)) && (await reachable(REDIS_URL));
  if (brokers) {
    await withService('RabbitMQ + Redis, batching on', env, true, async (base) => {
      for (const clients of [1, 16, 64]) await load(base, 'L6', 'RabbitMQ + Redis, 1 worker', clients);
    });
    await withService('RabbitMQ + Redis, batching off', { ...env, WORKER_BATCHING: 'false' }, true, async (base) => {
      await load(base, 'L6', 'RabbitMQ + Redis, batching off', 64);
    });
  } else {
    log(`RabbitMQ or Redis not reachable (${AMQP_URL}, ${REDIS_URL}); skipping those scenarios`);
  }

  await report(ceilings, rawSingleMs, brokers);
}

function find(model: string, scenario: string, clients: number): Row | undefined {
  return rows.find((r) => r.model === model && r.scenario === scenario && r.clients === clients);
}

async function report(ceilings: Record<string, number>, rawSingleMs: Record<string, number>, brokers: boolean) {
  // A mixed-length workload is compared with the raw ceiling of the same mix.
  const ceilingOf = (r: Row) => (r.scenario.includes('mixed') ? ceilings['L6 mixed']! : ceilings[r.model]!);
  const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
  const lines = [
    `# Benchmark, ${new Date().toISOString()}`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
    `Each load runs ${SECONDS} s after ${WARMUP} s of warm-up; clients send one text and wait for its result (long poll).`,
    'The service runs compiled (`npm run build`, `node dist/…`) in its own processes; the clients run in the benchmark process, on the same cores.',
    '',
    '| Model | Scenario | Clients | Texts/s | × raw ceiling | p50 ms | p95 ms | p99 ms |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.scenario} | ${r.clients} | ${r.perSecond.toFixed(0)} | ${(r.perSecond / ceilingOf(r)).toFixed(2)} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} |`,
    ),
    '',
    '| Process | Peak RSS MB |',
    '| --- | ---: |',
    ...Object.entries(rss).map(([name, mb]) => `| ${name} | ${mb} |`),
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
  const embedded64 = find('L6', 'embedded', 64);
  const rr64 = find('L6', 'RabbitMQ + Redis, 1 worker', 64);
  target('embedded, 64 clients', '≥ 0.9 × ceiling', ratio(embedded64), (x) => x >= 0.9, '×');
  target('RabbitMQ + Redis, 64 clients', '≥ 0.8 × ceiling', brokers ? ratio(rr64) : undefined, (x) => x >= 0.8, '×');
  const offE = find('L6', 'embedded, batching off', 64);
  target('batching on / off, embedded, 64 clients', '≥ 1.6×', embedded64 && offE ? embedded64.perSecond / offE.perSecond : undefined, (x) => x >= 1.6, '×');
  const offR = find('L6', 'RabbitMQ + Redis, batching off', 64);
  target('batching on / off, RabbitMQ + Redis, 64 clients', '≥ 1.6×', rr64 && offR ? rr64.perSecond / offR.perSecond : undefined, (x) => x >= 1.6, '×');
  const lone = find('L6', 'embedded', 1);
  target('lone request p50 over raw single inference, embedded', '≤ 3 ms', lone ? lone.p50! - rawSingleMs.L6! : undefined, (x) => x <= 3, ' ms');
  const loneR = find('L6', 'RabbitMQ + Redis, 1 worker', 1);
  target('lone request p50 over raw single inference, RabbitMQ + Redis', '≤ 8 ms', loneR ? loneR.p50! - rawSingleMs.L6! : undefined, (x) => x <= 8, ' ms');
  target('worker RSS under load, L6', '≤ 300 MB', rss['RabbitMQ + Redis, batching on (worker)'], (x) => x <= 300, ' MB');
  target('API RSS under load', '≤ 150 MB', rss['RabbitMQ + Redis, batching on (api)'], (x) => x <= 150, ' MB');
  lines.push('', `Raw single-text inference (batch 1 median): L6 ${rawSingleMs.L6!.toFixed(2)} ms, L12 ${rawSingleMs.L12!.toFixed(2)} ms.`);

  const markdown = `${lines.join('\n')}\n`;
  const dir = join(REPO_ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  await writeFile(join(dir, `${stamp}.md`), markdown);
  await writeFile(join(dir, `${stamp}.json`), JSON.stringify({ ceilings, rawSingleMs, rows, rss }, null, 2));
  await writeFile(join(dir, 'latest.md'), markdown);
  process.stdout.write(markdown);
}

await access(REPO_ROOT);
await main();
