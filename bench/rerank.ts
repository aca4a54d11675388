import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { Pool } from 'undici';
import { readCrossEncoderFolder } from '../src/adapters/onnx/sentence-transformers-folder.js';
import { MS_MARCO_MINILM_L6, writeCrossEncoderFolder } from '../test/support/bert-fixture.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { REPO_ROOT } from '../test/support/paths.js';
import { freePort, startProcess } from '../test/support/processes.js';
import { waitFor } from '../test/support/wait.js';
import { LONG_TEXTS, SHORT_TEXTS } from './corpus.js';
import { CACHE, log } from './fixtures.js';
import { ceilingSession } from './raw.js';

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
  readonly scenario: string;
  readonly clients: number | '';
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

async function crossEncoderFolder(): Promise<string> {
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

/**
 * `clients` clients, each sending one request and waiting for its answer,
 * then the next. Throughput counts the requests that finish inside the
 * measured window (a request takes seconds at 16 clients, so most straddle
 * one of its edges); latency, those that start and finish inside it.
 */
async function drive(base: string, path: string, body: (i: number) => unknown, clients: number, warmup: number, seconds: number): Promise<RerankRow & { scenario: '' }> {
  const pool = new Pool(base, { connections: clients * 2 });
  const begin = performance.now() + warmup * 1000;
  const end = begin + seconds * 1000;
  const latencies: number[] = [];
  let finishedInWindow = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        const response = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(next++)) });
        const answer = (await response.body.json()) as { results?: unknown[] };
        const finished = performance.now();
        const ok = response.statusCode === 200 && answer.results?.length === DOCUMENTS_PER_REQUEST;
        if (finished < begin || finished > end) continue;
        if (!ok) failed++;
        else {
          finishedInWindow++;
          if (started >= begin) latencies.push(finished - started);
        }
      }
    }),
  );
  await pool.close();
  latencies.sort((a, b) => a - b);
  return { scenario: '', clients, pairsPerSecond: (finishedInWindow * DOCUMENTS_PER_REQUEST) / seconds, p50: latencies[Math.floor(latencies.length / 2)] ?? NaN, failed };
}

/** The rows of the rerank scenarios: the ceiling, the peer at 1 and 16 clients, the service (embedded) at 1 and 16. */
export async function rerankScenarios(seconds: number, warmup: number): Promise<RerankRow[]> {
  const dir = await crossEncoderFolder();
  const rows: RerankRow[] = [];
  const ceiling = await raw(dir, seconds);
  rows.push({ scenario: 'raw onnxruntime, batches of 20 pairs', clients: '', pairsPerSecond: ceiling });
  log(`rerank raw: ${ceiling.toFixed(0)} pairs/s`);

  const peerPort = await freePort();
  const peer = spawn(process.execPath, [join(REPO_ROOT, 'bench', 'peer-server.mjs'), dir, String(peerPort), '--rerank'], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${peerPort}/health/ready`).catch(() => undefined))?.ok === true, 60_000, 'the rerank peer');
    for (const clients of [1, 16]) {
      const row = await drive(`http://127.0.0.1:${peerPort}`, '/v1/rerank', request, clients, warmup, seconds);
      rows.push({ ...row, scenario: 'plain transformers.js server' });
      log(`rerank peer ×${clients}: ${row.pairsPerSecond.toFixed(0)} pairs/s, p50 ${row.p50?.toFixed(1)} ms`);
    }
  } finally {
    peer.kill('SIGTERM');
  }

  const config = await writeMlConfig(join(CACHE, `ml_config.rerank.${Date.now().toString(36)}.yaml`), 'none', [{ id: 'none', engine: 'use-lite' }, { id: 'ranker', kind: 'reranker', engine: 'onnx', path: dir }]);
  const apiPort = await freePort();
  const service = startProcess(['--mode', 'all'], { ML_CONFIG_PATH: config, WORKER_MODELS: 'ranker', API_HOST: '127.0.0.1', API_PORT: String(apiPort), LOG_LEVEL: 'warn' }, true);
  try {
    await service.ready(apiPort, 60_000);
    for (const clients of [1, 16]) {
      const row = await drive(`http://127.0.0.1:${apiPort}`, '/v1/rerank', (i) => ({ model: 'ranker', return_documents: false, ...request(i) }), clients, warmup, seconds);
      rows.push({ ...row, scenario: 'embedded, POST /v1/rerank' });
      log(`rerank embedded ×${clients}: ${row.pairsPerSecond.toFixed(0)} pairs/s, p50 ${row.p50?.toFixed(1)} ms`);
    }
  } finally {
    await service.stop();
  }
  return rows;
}

/** The report's section: the rows with their ratios to the ceiling and the peer, and the targets. */
export function rerankReport(rows: readonly RerankRow[]): string[] {
  const ceiling = rows.find((r) => r.clients === '')!.pairsPerSecond;
  const of = (scenario: string, clients: number) => rows.find((r) => r.scenario === scenario && r.clients === clients);
  const lines = ['', '## Rerank (one query × 20 documents of about 60 words, ms-marco-MiniLM-L6-v2 shape)', '', '| Scenario | Clients | Pairs/s | × raw | × peer | p50 ms |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const row of rows) {
    const peer = row.clients === '' ? undefined : of('plain transformers.js server', row.clients);
    const ratio = (n: number | undefined) => (n === undefined ? '' : (row.pairsPerSecond / n).toFixed(2));
    lines.push(`| ${row.scenario} | ${row.clients} | ${row.pairsPerSecond.toFixed(0)} | ${ratio(ceiling)} | ${peer && peer !== row ? ratio(peer.pairsPerSecond) : ''} | ${row.p50?.toFixed(1) ?? ''} |`);
  }
  const service16 = of('embedded, POST /v1/rerank', 16);
  const service1 = of('embedded, POST /v1/rerank', 1);
  const peer1 = of('plain transformers.js server', 1);
  lines.push(
    '',
    `Targets: 16 clients ≥ 0.8 × raw: ${service16 ? (service16.pairsPerSecond / ceiling).toFixed(2) : '—'}×; 1 client ≥ the peer: ${service1 && peer1 ? (service1.pairsPerSecond / peer1.pairsPerSecond).toFixed(2) : '—'}×.`,
  );
  return lines;
}
