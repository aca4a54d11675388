import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { writeMlConfig } from '../support/ml-config.js';
import { probeLiveness } from '../support/probes.js';
import { freePort, startProcess, type ServiceProcess } from '../support/processes.js';

/*
 * Tokenizing never holds up the event loop: while each engine embeds a text
 * of max_input_chars (50,000) characters, prose or one endless word, cut to
 * the model or embedded whole in windows (`long_text: pool`, `chunks`),
 * /health/live keeps answering within 100 ms. The service runs in its own
 * process, so the probe measures its event loop alone.
 */

const MAX_INPUT_CHARS = 50_000;
const prose = 'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(700).slice(0, MAX_INPUT_CHARS);
const oneWord = 'a'.repeat(MAX_INPUT_CHARS);

describe('long texts and the event loop', () => {
  let dir: string;
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'long-texts-'));
    const bert = await writeBertFolder(join(dir, 'bert'), { maxSeqLength: 128 });
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'use-lite', [
      { id: 'use-lite', engine: 'use-lite' },
      { id: 'bert', engine: 'onnx', path: bert },
    ]);
    const port = await freePort();
    service = startProcess([], {
      ML_CONFIG_PATH: mlConfig,
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      WORKER_THREADS: '1',
      MAX_INPUT_CHARS: String(MAX_INPUT_CHARS),
      // Room for the whole of a 50,000-character text, in windows.
      MAX_TEXT_TOKENS: '20000',
    });
    base = `http://127.0.0.1:${port}`;
    await service.ready(port, 60_000);
  }, 90_000);
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  // Tokens per text: prose is cut at the model's maximum (512 for USE-lite, 128 here for BERT); BERT's
  // WordPiece makes a word over 100 characters one [UNK], between [CLS] and [SEP].
  const cases: Array<[string, string, string, number]> = [
    ['use-lite', 'prose', prose, 512],
    ['use-lite', 'one endless word', oneWord, 512],
    ['bert', 'prose', prose, 128],
    ['bert', 'one endless word', oneWord, 3],
  ];

  it.each(cases)('%s embeds %s of 50,000 characters while /health/live answers within 100 ms', async (model, _kind, text, tokens) => {
    expect(text).toHaveLength(MAX_INPUT_CHARS);
    const liveness = probeLiveness(base);
    const response = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: [text, text] }),
    });
    const slowestLive = await liveness.stop();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    expect(body.data).toHaveLength(2);
    expect(body.usage.prompt_tokens).toBe(2 * tokens);
    expect(slowestLive).toBeLessThan(100);
  });

  it.each([
    ['use-lite', 'pool'],
    ['use-lite', 'chunks'],
    ['bert', 'pool'],
    ['bert', 'chunks'],
  ])('%s embeds prose of 50,000 characters whole (long_text: %s) while /health/live answers within 100 ms', async (model, longText) => {
    const liveness = probeLiveness(base);
    const response = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: prose, long_text: longText, encoding_format: 'base64' }),
    });
    const slowestLive = await liveness.stop();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { chunks?: unknown[] }[]; usage: { prompt_tokens: number } };
    // Every window is billed: far more than one model's worth of tokens.
    expect(body.usage.prompt_tokens).toBeGreaterThan(5_000);
    if (longText === 'chunks') expect(body.data[0]!.chunks!.length).toBeGreaterThan(10);
    expect(slowestLive).toBeLessThan(100);
  }, 60_000);
});
