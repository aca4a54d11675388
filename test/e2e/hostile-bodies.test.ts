import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLiveness, rssMb } from '../support/probes.js';
import { freePort, startProcess, type ServiceProcess } from '../support/processes.js';

/*
 * Bodies that are cheap to send and were costly to refuse: millions of tiny
 * items, one huge token array, nesting millions deep. Each is sent at the
 * body limit (10 MiB, the default) to the service as `npm start` runs it,
 * in its own process, so that its memory and its event loop are measured
 * alone: each must add less than 50 MB, and be refused, with /health/live
 * answering throughout, about as fast as a plain body of the same size: one
 * 10 MiB string, measured in the same run. How fast that is depends on the
 * machine; what a hostile body must not do is take much longer than it
 * (parsing millions of items first took seconds and stalled liveness).
 * On a fast machine, a second and 100 ms are the bounds.
 *
 * Every route that takes a body is walked, as /openapi.json lists them
 * (a test elsewhere holds that document to every route the app serves), so
 * a route added later is held to the same bounds without a word here.
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

/** How a body was refused: the answer, how long it took, the slowest liveness answer meanwhile, and the memory it added. */
interface Refusal {
  readonly status: number;
  readonly code: string | undefined;
  readonly seconds: number;
  readonly slowestLiveMs: number;
  readonly addedMb: number;
}

/** How many times a plain body's time a hostile one may take. */
const SLACK = 3;
/**
 * A liveness answer any refusal may take, whatever the plain body's: on a
 * loaded 2-core machine (the whole suite in parallel) one pause reached
 * 149 ms. A guard that blocks the loop takes seconds (6.6 s before it).
 */
const LIVENESS_FLOOR_MS = 250;

describe('hostile bodies at the body limit', () => {
  let service: ServiceProcess;
  let base: string;
  /** A plain body of the same size, one long string, sent to each route: the machine's own pace. */
  const plain = new Map<string, Refusal>();

  async function send(route: { method: string; path: string }, body: string): Promise<Refusal> {
    const before = await rssMb(service.child.pid!);
    let peak = before;
    const liveness = probeLiveness(base, async () => void (peak = Math.max(peak, await rssMb(service.child.pid!))));
    const started = performance.now();
    const response = await fetch(base + route.path, { method: route.method, headers: { 'content-type': 'application/json' }, body });
    const json = (await response.json()) as { code?: string; error?: { code: string } };
    const seconds = (performance.now() - started) / 1000;
    const slowestLiveMs = await liveness.stop();
    return { status: response.status, code: json.code ?? json.error?.code, seconds, slowestLiveMs, addedMb: peak - before };
  }

  /** Every route that takes a body, its path parameters filled in. */
  let routes: { method: string; path: string }[] = [];
  /** Embeddings routes read `input`; elsewhere every hostile body holds too many values. */
  const READS_INPUT = new Set(['/v1/embeddings/tasks', '/v1/embeddings']);

  beforeAll(async () => {
    const port = await freePort();
    service = startProcess([], { API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    base = `http://127.0.0.1:${port}`;
    await service.ready(port, 60_000);
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => ['post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'action' ? 'requeue' : `some-${name}`)) })),
    );
    const body = `{"input":"${'a'.repeat(BODY_LIMIT - 64)}"}`;
    for (const route of routes) {
      await send(route, body);
      plain.set(key(route), await send(route, body));
    }
  }, 180_000);
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
  });

  const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

  it('walks every route that takes a body', () => {
    expect(routes.map(key)).toEqual(expect.arrayContaining(['POST /v1/embeddings/tasks', 'POST /v1/embeddings', 'POST /v1/batches', 'POST /v1/files', 'POST /console/api/tasks/some-id/cancel']));
    expect(routes.length).toBeGreaterThanOrEqual(9);
  });

  it.each(cases)('%s: every route → %i %s on the embeddings routes (413 elsewhere, but for nesting), quickly, in little memory, with liveness answering', async (kind, status, code) => {
    const body = atTheLimit(kind);
    expect(body.length).toBeGreaterThan(BODY_LIMIT - 100);
    expect(body.length).toBeLessThanOrEqual(BODY_LIMIT);
    for (const route of routes) {
      const refusal = await send(route, body);
      const pace = plain.get(key(route))!;
      const expected = READS_INPUT.has(route.path) || kind === 'deep' ? [status, code] : [413, 'payload_too_large'];
      expect([refusal.status, refusal.code], key(route)).toEqual(expected);
      expect(refusal.addedMb, key(route)).toBeLessThan(50);
      expect(refusal.seconds, `${key(route)}: a plain body of this size took ${pace.seconds.toFixed(3)} s`).toBeLessThan(Math.max(1, SLACK * pace.seconds));
      expect(refusal.slowestLiveMs, `${key(route)}: liveness took ${pace.slowestLiveMs.toFixed(0)} ms at most beside a plain body`).toBeLessThan(
        Math.max(LIVENESS_FLOOR_MS, SLACK * pace.slowestLiveMs),
      );
    }
  }, 120_000);

  it('still embeds afterwards', async () => {
    const response = await fetch(`${base}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'still here' }),
    });
    expect(response.status).toBe(200);
  });
});
