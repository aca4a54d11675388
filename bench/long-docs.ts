import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { readSentenceTransformersFolder } from '../src/adapters/onnx/sentence-transformers-folder.js';
import { writeMlConfig } from '../test/support/ml-config.js';
import { freePort, startProcess } from '../test/support/processes.js';
import { LONG_TEXTS } from './corpus.js';
import { CACHE, log } from './fixtures.js';
import { ceilingSession } from './raw.js';
import { drive } from './drive.js';

/*
 * Long documents, as issue 27 sets it: documents of about 2,000 tokens,
 * embedded whole (`long_text: pool`) on all-MiniLM-L6-v2's shape (256
 * tokens), measured in tokens a second against onnxruntime running the same
 * windows back to back, a document's windows a batch (the ceiling).
 */

const DOCUMENT_TOKENS = 2000;
const DOCUMENTS = 16;

export interface LongDocRow {
  readonly contestant: string;
  readonly clients: number | '';
  readonly tokensPerSecond: number;
  readonly p50?: number;
  readonly failed?: number;
}

/** Documents of about 2,000 tokens: the corpus's paragraphs, one after another from a different start each. */
async function documents(tokenizer: Tokenizer): Promise<string[]> {
  const docs: string[] = [];
  for (let d = 0; d < DOCUMENTS; d++) {
    const parts: string[] = [];
    let tokens = 0;
    for (let i = d; tokens < DOCUMENT_TOKENS; i++) {
      const paragraph = LONG_TEXTS[i % LONG_TEXTS.length]!;
      parts.push(paragraph);
      tokens += (await tokenizer.encode(paragraph, null, { addSpecialTokens: false })).getIds().length;
    }
    docs.push(parts.join(' '));
  }
  return docs;
}

/** Each document's windows as the service cuts them: 254 tokens each, wrapped in [CLS] and [SEP]. */
async function windowsOf(tokenizer: Tokenizer, doc: string, maxTokens: number): Promise<number[][]> {
  const ids = (await tokenizer.encode(doc, null, { addSpecialTokens: false })).getIds();
  const room = maxTokens - 2;
  const windows: number[][] = [];
  for (let start = 0; start < ids.length; start += room) windows.push([101, ...ids.slice(start, start + room), 102]);
  return windows;
}

/** onnxruntime on the same windows, a document's a batch (right-padded), back to back, tokenizing included. */
async function raw(dir: string, docs: readonly string[], seconds: number): Promise<number> {
  const folder = await readSentenceTransformersFolder(dir);
  const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
  tokenizer.disableTruncation();
  const session = await ceilingSession(folder.modelFile);
  const run = async (i: number) => {
    const windows = await windowsOf(tokenizer, docs[i % docs.length]!, folder.maxSeqLength);
    const seq = Math.max(...windows.map((w) => w.length));
    const tensor = (row: (w: number[]) => number[]) => new ort.Tensor('int64', BigInt64Array.from(windows.flatMap((w) => [...row(w), ...new Array<number>(seq - w.length).fill(0)]), BigInt), [windows.length, seq]);
    await session.run({ input_ids: tensor((w) => w), attention_mask: tensor((w) => w.map(() => 1)), token_type_ids: tensor((w) => w.map(() => 0)) });
    return windows.reduce((n, w) => n + w.length, 0);
  };
  await run(0);
  let tokens = 0;
  const started = performance.now();
  for (let i = 1; performance.now() - started < seconds * 1000; i++) tokens += await run(i);
  await session.release();
  return tokens / ((performance.now() - started) / 1000);
}

const EMBEDDED = 'embedded, POST /v1/embeddings, long_text: pool';

/** The rows of the long-document scenarios: the ceiling, then the service (mode all) at 1 and 16 clients. */
export async function longDocScenarios(dir: string, seconds: number, warmup: number): Promise<LongDocRow[]> {
  const folder = await readSentenceTransformersFolder(dir);
  const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
  tokenizer.disableTruncation();
  const docs = await documents(tokenizer);
  const rows: LongDocRow[] = [{ contestant: 'raw onnxruntime, a document’s windows a batch', clients: '', tokensPerSecond: await raw(dir, docs, seconds) }];
  log(`long documents raw: ${rows[0]!.tokensPerSecond.toFixed(0)} tokens/s`);
  const config = await writeMlConfig(join(CACHE, `ml_config.long.${Date.now().toString(36)}.yaml`), 'L6', [{ id: 'L6', engine: 'onnx', path: dir, queue: 'bench.long' }]);
  const port = await freePort();
  const service = startProcess(['--mode', 'all'], { ML_CONFIG_PATH: config, API_HOST: '127.0.0.1', API_PORT: String(port), LOG_LEVEL: 'warn' }, true);
  try {
    await service.ready(port, 60_000);
    for (const clients of [1, 16]) {
      // Tokens as usage bills them: every window, special tokens included.
      // A number at the end makes every document one the embedding cache has not seen.
      const body = (i: number) => ({ model: 'L6', input: `${docs[i % docs.length]} ${clients}.${i}`, long_text: 'pool', encoding_format: 'base64' });
      const billed = (answer: unknown) => (answer as { usage?: { prompt_tokens: number } }).usage?.prompt_tokens;
      const { units, failed, latencies } = await drive(`http://127.0.0.1:${port}`, '/v1/embeddings', body, billed, { clients, warmup, seconds });
      const row = { contestant: EMBEDDED, clients, tokensPerSecond: units / seconds, p50: [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)] ?? NaN, failed };
      rows.push(row);
      log(`long documents ×${clients}: ${row.tokensPerSecond.toFixed(0)} tokens/s, p50 ${row.p50.toFixed(0)} ms, ${failed} failed`);
    }
  } finally {
    await service.stop();
  }
  return rows;
}

/** The report's section: the rows with their ratio to the ceiling, and the target. */
export function longDocReport(rows: readonly LongDocRow[]): string[] {
  const ceiling = rows.find((r) => r.clients === '')!.tokensPerSecond;
  const lines = [
    '',
    `## Long documents (about ${DOCUMENT_TOKENS} tokens each, embedded whole with long_text: pool; all-MiniLM-L6-v2 shape, 256-token windows)`,
    '',
    '| Contestant | Clients | Tokens/s | × raw | p50 ms | Failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const cells = [row.contestant, row.clients, row.tokensPerSecond.toFixed(0), (row.tokensPerSecond / ceiling).toFixed(2), row.p50?.toFixed(0) ?? '', row.failed ?? ''];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const sixteen = rows.find((r) => r.clients === 16);
  lines.push('', `Target: 16 clients ≥ 0.85 × raw: ${sixteen ? (sixteen.tokensPerSecond / ceiling).toFixed(2) : '—'}×.`);
  return lines;
}
