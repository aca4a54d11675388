import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLiveness, rssMb } from '../support/probes.js';
import { freePort, startProcess, type ServiceProcess } from '../support/processes.js';

/*
 * Bodies that are cheap to send and were costly to refuse: millions of tiny
 * items, one huge token array, nesting millions deep. Each is sent at the
 * body limit (10 MiB, the default) to the service as `npm start` runs it,
 * in its own process, so that its memory and its event loop are measured
 * alone: each must be refused within a second, add less than 50 MB, and
 * leave /health/live answering within 100 ms throughout.
 */

const BODY_LIMIT = 10 * 1024 * 1024;

function atTheLimit(kind: string): string {
  const room = BODY_LIMIT - 64;
  if (kind === 'deep') return `{"input":${'['.repeat(room / 2)}${']'.repeat(room / 2)}}`;
  if (kind === 'one token array') return `{"input":[${'1,'.repeat(room / 2 - 1)}1]}`;
  if (kind === 'a huge token-array item') return `{"input":[[${'1,'.repeat(room / 2 - 2)}1]]}`;
  const unit = { nulls: 'null', 'empty arrays': '[]', 'empty objects': '{}', 'arrays of null': '[null]', 'short strings': '"a"' }[kind]!;
  const count = Math.floor(room / (unit.length + 1));
  return `{"input":[${`${unit},`.repeat(count - 1)}${unit}]}`;
}

const cases: Array<[string, number, string]> = [
  ['nulls', 413, 'payload_too_large'],
  ['empty arrays', 413, 'payload_too_large'],
  ['empty objects', 413, 'payload_too_large'],
  ['arrays of null', 413, 'payload_too_large'],
  ['short strings', 413, 'payload_too_large'],
  ['one token array', 413, 'payload_too_large'],
  ['a huge token-array item', 413, 'payload_too_large'],
  ['deep', 422, 'validation_failed'],
];

describe('hostile bodies at the body limit', () => {
  let service: ServiceProcess;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    service = startProcess([], { API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    base = `http://127.0.0.1:${port}`;
    await service.ready(port, 60_000);
  }, 90_000);
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
  });

  for (const route of ['/v1/embeddings/tasks', '/v1/embeddings']) {
    it.each(cases)(`${route}: %s → %i %s, quickly, in little memory, with liveness answering`, async (kind, status, code) => {
      const body = atTheLimit(kind);
      expect(body.length).toBeGreaterThan(BODY_LIMIT - 100);
      expect(body.length).toBeLessThanOrEqual(BODY_LIMIT);
      const before = await rssMb(service.child.pid!);
      let peak = before;
      const liveness = probeLiveness(base, async () => void (peak = Math.max(peak, await rssMb(service.child.pid!))));
      const started = performance.now();
      const response = await fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await response.json()) as { code?: string; error?: { code: string } };
      const seconds = (performance.now() - started) / 1000;
      const slowestLive = await liveness.stop();

      expect(response.status).toBe(status);
      expect(json.code ?? json.error?.code).toBe(code);
      expect(seconds).toBeLessThan(1);
      expect(peak - before).toBeLessThan(50);
      expect(slowestLive).toBeLessThan(100);
    });
  }

  it('still embeds afterwards', async () => {
    const response = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'still here' }),
    });
    expect(response.status).toBe(200);
  });
});
