import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { readCrossEncoderFolder } from '../src/adapters/onnx/sentence-transformers-folder.js';
import { MS_MARCO_MINILM_L6, writeCrossEncoderFolder } from '../test/support/bert-fixture.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { freePort, startProcess } from '../test/support/processes.js';
import { waitFor } from '../test/support/wait.js';
import { LONG_TEXTS, SHORT_TEXTS } from './corpus.js';
import { CACHE, log } from './fixtures.js';
import { ceilingSession } from './raw.js';
import { drive, type Stretch } from './drive.js';

/*
 * Reranking, as issue 25 sets it: one query and 20 documents of about 60
 * words a request, on a graph of cross-encoder/ms-marco-MiniLM-L6-v2's exact
 * shape, measured in pairs a second against onnxruntime running the same
 * pairs back to back in batches of 20 (the ceiling) and against a plain
 * transformers.js server doing the same (the peer).
 */

const DOCUMENTS_PER_REQUEST = 20;
const QUERIES = SHORT_TEXTS.slice(0, 64);
/** About 60 words each: the first 60 of the corpus's long paragraphs. */
const DOCUMENTS = LONG_TEXTS.map((text) => text.split(' ').slice(0, 60).join(' '));

export interface RerankRow {
  /** Who answered: the ceiling, the peer, or the service on one of its paths. */
  readonly contestant: string;
  readonly clients: number | '';
  /** Documents a request; absent for the ceiling. */
  readonly documents?: number;
  readonly pairsPerSecond: number;
  readonly p50?: number;
  readonly failed?: number;
}

function request(i: number): { query: string; documents: string[] } {
  return {
    query: QUERIES[i % QUERIES.length]!,
    documents: Array.from({ length: DOCUMENTS_PER_REQUEST }, (_, j) => DOCUMENTS[(i * 7 + j) % DOCUMENTS.length]!),
  };
}

export async function crossEncoderFolder(): Promise<string> {
  const dir = join(CACHE, 'ms-marco-MiniLM-L6-v2-shape');
  const stamp = join(dir, 'shape.json');
  const wanted = JSON.stringify({ ...MS_MARCO_MINILM_L6, kind: 'cross-encoder', layout: 1 });
  if ((await readFile(stamp, 'utf8').catch(() => '')) !== wanted) {
    log('generating the ms-marco-MiniLM-L6-v2-shaped cross-encoder…');
    await writeCrossEncoderFolder(dir, { shape: MS_MARCO_MINILM_L6, maxLength: 512, seed: 7, nested: true });
    await writeFile(stamp, wanted);
  }
  return dir;
}

/** onnxruntime on the same pairs, tokenized by Hugging Face tokenizers, batches of one request's 20, back to back. */
async function raw(dir: string, seconds: number): Promise<number> {
  const folder = await readCrossEncoderFolder(dir);
  const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
  tokenizer.setTruncation(folder.maxLength);
  const session = await ceilingSession(folder.modelFile);
  const run = async (i: number) => {
    const { query, documents } = request(i);
    // The binding encodes a pair one at a time; each is then right-padded to the batch's longest.
    const encodings = await Promise.all(documents.map((d) => tokenizer.encode(query, d)));
    const seq = Math.max(...encodings.map((e) => e.getIds().length));
    const padded = (values: number[]) => [...values, ...new Array<number>(seq - values.length).fill(0)];
    const tensor = (pick: (e: (typeof encodings)[number]) => number[]) =>
      new ort.Tensor('int64', BigInt64Array.from(encodings.flatMap((e) => padded(pick(e))), BigInt), [documents.length, seq]);
    await session.run({ input_ids: tensor((e) => e.getIds()), attention_mask: tensor((e) => e.getAttentionMask()), token_type_ids: tensor((e) => e.getTypeIds()) });
  };
  await run(0);
  let pairs = 0;
  const started = performance.now();
  for (let i = 1; performance.now() - started < seconds * 1000; i++) {
    await run(i);
    pairs += DOCUMENTS_PER_REQUEST;
  }
  await session.release();
  return pairs / ((performance.now() - started) / 1000);
}

/** A rerank request of `documents` documents (20: the issue's; 2: a small one, as a search page reranking its top hits sends). */
const requestOf = (documents: number) => (i: number) => {
  const full = request(i);
  return { query: full.query, documents: full.documents.slice(0, documents) };
};

/** The scenarios every contestant runs: clients, and documents a request. */
const SCENARIOS: readonly { clients: number; documents: number }[] = [
  { clients: 1, documents: DOCUMENTS_PER_REQUEST },
  { clients: 16, documents: DOCUMENTS_PER_REQUEST },
  { clients: 16, documents: 2 },
];

const PEER = 'plain transformers.js server';
const EMBEDDED = 'embedded, POST /v1/rerank';
const BROKERS = 'RabbitMQ + Redis, POST /v1/rerank';

/** A server under test, started: where it answers, and how to stop it. */
interface Contestant {
  readonly name: string;
  readonly base: string;
  /** What it is sent besides the query and documents. */
  readonly extra: Record<string, unknown>;
  stop(): Promise<void>;
}

async function startPeer(dir: string): Promise<Contestant> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bench', 'peer-server.mjs'), dir, String(port), '--rerank'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = async () => void child.kill('SIGTERM');
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.ok === true, 60_000, 'the rerank peer').catch(async (error) => {
    await stop();
    throw error;
  });
  return { name: PEER, base: `http://127.0.0.1:${port}`, extra: {}, stop };
}

/** The service in mode all, or (`brokers`) an API process and a worker process on RabbitMQ and Redis. */
async function startService(dir: string, brokers: { amqpUrl: string; redisUrl: string } | undefined): Promise<Contestant> {
  const config = await writeMlConfig(join(CACHE, `ml_config.rerank.${Date.now().toString(36)}.yaml`), 'none', [
    { id: 'none', engine: 'use-lite' },
    { id: 'ranker', kind: 'reranker', engine: 'onnx', path: dir, queue: 'bench.rerank' },
  ]);
  const apiPort = await freePort();
  const env = { ML_CONFIG_PATH: config, WORKER_MODELS: 'ranker', API_HOST: '127.0.0.1', API_PORT: String(apiPort), LOG_LEVEL: 'warn' };
  const processes: { process: ReturnType<typeof startProcess>; port: number }[] = [];
  if (brokers) {
    const healthPort = await freePort();
    const shared = { ...env, AMQP_URL: brokers.amqpUrl, REDIS_URL: brokers.redisUrl, REDIS_KEY_PREFIX: `bench:rerank:${Date.now()}:` };
    processes.push({ process: startProcess(['--mode', 'api'], shared, true), port: apiPort });
    processes.push({ process: startProcess(['--mode', 'worker'], { ...shared, WORKER_HEALTH_PORT: String(healthPort) }, true), port: healthPort });
  } else {
    processes.push({ process: startProcess(['--mode', 'all'], env, true), port: apiPort });
  }
  const stop = async () => void (await Promise.all(processes.map((p) => p.process.stop())));
  await Promise.all(processes.map((p) => p.process.ready(p.port, 60_000))).catch(async (error) => {
    await stop();
    throw error;
  });
  return { name: brokers ? BROKERS : EMBEDDED, base: `http://127.0.0.1:${apiPort}`, extra: { model: 'ranker', return_documents: false }, stop };
}

/**
 * The rows of the rerank scenarios: the ceiling, then every contestant (the
 * peer, the service embedded, and on RabbitMQ and Redis when given) in each
 * scenario. The contestants run side by side, idle but for the one driven,
 * and each scenario drives them in turn and then in the reverse order, half
 * the window each time: this machine's speed drifts by ±10 % over minutes,
 * and a drift then weighs on every contestant alike.
 */
export async function rerankScenarios(seconds: number, warmup: number, brokers?: { amqpUrl: string; redisUrl: string }): Promise<RerankRow[]> {
  const dir = await crossEncoderFolder();
  const rows: RerankRow[] = [];
  const ceiling = await raw(dir, seconds);
  rows.push({ contestant: 'raw onnxruntime, batches of 20 pairs', clients: '', pairsPerSecond: ceiling });
  log(`rerank raw: ${ceiling.toFixed(0)} pairs/s`);

  const contestants: Contestant[] = [];
  try {
    contestants.push(await startPeer(dir), await startService(dir, undefined));
    if (brokers) contestants.push(await startService(dir, brokers));
    for (const { clients, documents } of SCENARIOS) {
      const stretches = new Map<Contestant, Stretch[]>(contestants.map((c) => [c, []]));
      for (const order of [contestants, [...contestants].reverse()]) {
        for (const contestant of order) {
          const body = (i: number) => ({ ...contestant.extra, ...requestOf(documents)(i) });
          const ranked = (answer: unknown) => ((answer as { results?: unknown[] }).results?.length === documents ? documents : undefined);
          stretches.get(contestant)!.push(await drive(contestant.base, '/v1/rerank', body, ranked, { clients, warmup, seconds: seconds / 2 }));
        }
      }
      for (const [contestant, measured] of stretches) {
        const latencies = measured.flatMap((m) => m.latencies).sort((a, b) => a - b);
        const row: RerankRow = {
          contestant: contestant.name,
          clients,
          documents,
          pairsPerSecond: measured.reduce((n, m) => n + m.units, 0) / seconds,
          p50: latencies[Math.floor(latencies.length / 2)] ?? NaN,
          failed: measured.reduce((n, m) => n + m.failed, 0),
        };
        rows.push(row);
        log(`rerank ${row.contestant} ×${clients}, ${documents} documents: ${row.pairsPerSecond.toFixed(0)} pairs/s, p50 ${row.p50?.toFixed(1)} ms`);
      }
    }
  } finally {
    await Promise.all(contestants.map((c) => c.stop()));
  }
  return rows;
}

/** The report's section: the rows with their ratios to the ceiling and to the peer in the same scenario, and the targets. */
export function rerankReport(rows: readonly RerankRow[]): string[] {
  const ceiling = rows.find((r) => r.clients === '')!.pairsPerSecond;
  const of = (contestant: string, clients: number, documents = DOCUMENTS_PER_REQUEST) =>
    rows.find((r) => r.contestant === contestant && r.clients === clients && r.documents === documents);
  const lines = [
    '',
    '## Rerank (one query × 20, or 2, documents of about 60 words a request; ms-marco-MiniLM-L6-v2 shape)',
    '',
    '| Contestant | Clients | Documents | Pairs/s | × raw | × peer | p50 ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const peer = row.clients === '' ? undefined : of(PEER, row.clients, row.documents);
    const ratio = (n: number | undefined) => (n === undefined ? '' : (row.pairsPerSecond / n).toFixed(2));
    const cells = [row.contestant, row.clients, row.documents ?? '', row.pairsPerSecond.toFixed(0), ratio(ceiling), peer && peer !== row ? ratio(peer.pairsPerSecond) : '', row.p50?.toFixed(1) ?? ''];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const service16 = of(EMBEDDED, 16);
  const service1 = of(EMBEDDED, 1);
  const peer1 = of(PEER, 1);
  lines.push(
    '',
    `Targets: 16 clients ≥ 0.8 × raw: ${service16 ? (service16.pairsPerSecond / ceiling).toFixed(2) : '—'}×; 1 client ≥ the peer: ${service1 && peer1 ? (service1.pairsPerSecond / peer1.pairsPerSecond).toFixed(2) : '—'}×.`,
  );
  return lines;
}
