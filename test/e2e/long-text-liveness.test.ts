import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { writeMlConfig } from '../support/ml-config.js';
import { probeLiveness } from '../support/probes.js';
import { freePort, startProcess, type ServiceProcess } from '../support/processes.js';

/*
 * A text of 50,000 characters, on both engines and in every way a long text
 * is taken, sent to the service as `npm start` runs it, in a process of its
 * own: /health/live answers within 100 ms throughout. Tokenizing, windowing
 * and joining the windows must never hold the event loop.
 */

/** 50,000 characters of words (about 11,000 tokens). */
const TEXT = Array.from({ length: 10_000 }, (_, i) => ['cats', 'sleep', 'in', 'the', 'sun', 'while', 'dogs', 'run'][(i * 5) % 8]).join(' ').slice(0, 50_000);

describe('a 50,000-character text', () => {
  let dir: string;
  let service: ServiceProcess;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'long-liveness-'));
    const bert = await writeBertFolder(join(dir, 'tiny-bert'), { maxSeqLength: 128 });
    const ml = await writeMlConfig(join(dir, 'ml.yaml'), 'tiny-bert', [
      { id: 'tiny-bert', engine: 'onnx', path: bert },
      { id: 'use-lite', engine: 'use-lite' },
    ]);
    const port = await freePort();
    service = startProcess([], { API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ML_CONFIG_PATH: ml, MAX_TEXT_TOKENS: '20000' });
    base = `http://127.0.0.1:${port}`;
    await service.ready(port, 90_000);
    await fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'use-lite', input: 'warm' }) });
  }, 120_000);
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['tiny-bert', 'truncate'],
    ['tiny-bert', 'pool'],
    ['tiny-bert', 'chunks'],
    ['use-lite', 'truncate'],
    ['use-lite', 'pool'],
    ['use-lite', 'chunks'],
  ])('%s, long_text %s: answered, with /health/live under 100 ms throughout', async (model, longText) => {
    const liveness = probeLiveness(base);
    const response = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, input: TEXT, long_text: longText, encoding_format: 'base64' }),
    });
    const slowest = await liveness.stop();
    expect(response.status).toBe(200);
    const [item] = ((await response.json()) as { data: { chunks?: unknown[]; truncated?: true }[] }).data;
    if (longText === 'truncate') expect(item!.truncated).toBe(true);
    if (longText === 'chunks') expect(item!.chunks!.length).toBeGreaterThan(10);
    expect(slowest).toBeLessThan(100);
  }, 120_000);
});
