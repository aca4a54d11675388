import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * Generated requests, thousands per run, at the task, OpenAI, task-status
 * and model routes: whatever a client sends, the answer is never a 5xx other
 * than a 503 with Retry-After, every 4xx has a machine-readable body, and
 * the service stays up. The seed is fixed, so a failure reproduces; set
 * FUZZ_SEED to explore others.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 20_261_126);
const RUNS = 2_400;

/** JSON-ish values of every shape, with the field names the API knows mixed in. */
const anything = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(-1, 0, 1, 2 ** 31, Number.MAX_SAFE_INTEGER, -0),
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom('', ' ', 'tiny-bert', 'absent-model', 'base64', 'float', '\u0000', 'a'.repeat(300)),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.constantFrom('input', 'model', 'priority', 'encoding_format', 'dimensions', 'user', 'x'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Bodies close to valid ones, so that the fuzzing reaches past the first check. */
const nearlyValid = fc.record(
  {
    input: fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }),
      fc.array(fc.integer({ min: -5, max: 40_000 }), { maxLength: 8 }),
      fc.array(fc.array(fc.integer({ min: -5, max: 40_000 }), { maxLength: 5 }), { maxLength: 4 }),
      anything,
    ),
    model: fc.oneof(fc.constant('tiny-bert'), fc.constant('absent-model'), fc.string({ maxLength: 20 }), anything),
    priority: fc.oneof(fc.integer({ min: -2, max: 12 }), anything),
    encoding_format: fc.oneof(fc.constantFrom('float', 'base64'), anything),
    dimensions: fc.oneof(fc.constantFrom(8, 16, 32, 0, -1), anything),
  },
  { requiredKeys: ['input'] },
);

const rawBody = fc.oneof(
  { arbitrary: nearlyValid.map((b) => JSON.stringify(b)), weight: 6 },
  { arbitrary: anything.map((v) => JSON.stringify(v) ?? 'null'), weight: 2 },
  { arbitrary: fc.string(), weight: 1 },
  { arbitrary: fc.constantFrom('', '{', '[', '{"input": ', 'null', '"input"', '{"input":[[[[[[[]]]]]]]}', '\u0000'), weight: 1 },
);
const contentType = fc.oneof(
  { arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8'), weight: 8 },
  { arbitrary: fc.constantFrom('text/plain', '', 'application/x-www-form-urlencoded'), weight: 1 },
);

const request = fc.oneof(
  { arbitrary: fc.record({ method: fc.constant('POST'), path: fc.constantFrom('/v1/embeddings/tasks', '/v1/embeddings'), body: rawBody, contentType }), weight: 6 },
  fc.record({ method: fc.constant('GET'), path: fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.constantFrom('..', '%00', '%2F', 'x'.repeat(200))).map((id) => `/v1/embeddings/tasks/${encodeURIComponent(id)}`), body: fc.constant(undefined), contentType: fc.constant('') }),
  fc.record({ method: fc.constant('GET'), path: fc.tuple(fc.string({ maxLength: 40 }), fc.oneof(fc.integer({ min: -5, max: 70 }).map(String), fc.string({ maxLength: 5 }))).map(([id, wait]) => `/v1/embeddings/tasks/${encodeURIComponent(id)}?wait=${encodeURIComponent(wait)}`), body: fc.constant(undefined), contentType: fc.constant('') }),
  fc.record({ method: fc.constantFrom('GET', 'DELETE', 'PUT'), path: fc.oneof(fc.constant('/v1/models'), fc.string({ maxLength: 40 }).map((id) => `/v1/models/${encodeURIComponent(id)}`)), body: fc.constant(undefined), contentType: fc.constant('') }),
);

describe('fuzzed requests', () => {
  let t: TestService;
  beforeAll(async () => {
    // A short long-poll cap keeps generated ?wait=N requests from stretching the run.
    t = await startTestService({ env: { MAX_INPUTS: '8', MAX_INPUT_CHARS: '200', API_BODY_LIMIT_BYTES: '65536' } });
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t.stop();
  });

  it(`answers ${RUNS} generated requests without a 5xx (bar 503 with Retry-After), each refusal machine-readable`, async () => {
    let sent = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, body, contentType }) => {
        sent++;
        const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
        const waitFree = path.replace(/wait=[^&]*/, 'wait=0');
        const response = await t.service.app.request(waitFree, { method, headers, ...(body !== undefined && { body }) });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 500) {
          expect(response.status, `${method} ${path} ${String(body).slice(0, 200)}`).toBe(503);
          expect(response.headers.get('retry-after')).not.toBeNull();
        }
        if (response.status >= 400) {
          const json = JSON.parse(text) as { code?: string; error?: { code?: string } };
          expect(json.code ?? json.error?.code, `${method} ${path}`).toEqual(expect.any(String));
        }
      }),
      { seed: SEED, numRuns: RUNS, verbose: 1 },
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    // The requests reach every kind of answer: accepted, computed, refused, not found.
    for (const status of [200, 202, 400, 404, 413, 415, 422]) expect(statuses.get(status), `status ${status}`).toBeGreaterThan(0);
    // Still up, and still working.
    expect((await t.get('/health/live')).status).toBe(200);
    const done = await t.post('/v1/embeddings', { model: 'tiny-bert', input: 'after the fuzzing' });
    expect(done.status).toBe(200);
  }, 120_000);
});
