import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { gatedModel } from '../support/stub-model.js';
import { waitFor } from '../support/wait.js';

/*
 * What a key may see and do: its own tasks only (an admin key all of them),
 * cancel them, and within its requests and tokens per minute, with OpenAI's
 * rate-limit headers on every answer. One worker runs one task at a time
 * (prefetch 1) on a model held until the test lets it go, so that tasks can
 * be caught queued and running.
 */

const ALICE = 'sk-alice-0123456789abcdef';
const BOB = 'sk-bob-0123456789abcdef';
const OPS = 'sk-ops-admin-0123456789abcdef';
const LIMITED = 'sk-three-requests-a-minute';
const FRUGAL = 'sk-twenty-tokens-a-minute';

const KEYS_FILE = `keys:
  - { name: alice, key: ${ALICE} }
  - { name: bob, key: ${BOB} }
  - { name: ops, key: ${OPS}, admin: true, requests_per_minute: 0 }
  - { name: limited, key: ${LIMITED}, requests_per_minute: 3 }
  - { name: frugal, key: ${FRUGAL}, tokens_per_minute: 20 }
`;

describe('access control', () => {
  let dir: string;
  let t: TestService;
  let base: string;
  let gate: ReturnType<typeof gatedModel>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'access-'));
    await writeFile(join(dir, 'keys.yaml'), KEYS_FILE);
    gate = gatedModel();
    t = await startTestService({
      listen: true,
      loadModel: async () => gate.model,
      env: {
        API_KEYS_FILE: join(dir, 'keys.yaml'),
        RATE_LIMIT_REQUESTS_PER_MINUTE: '1000',
        RATE_LIMIT_TOKENS_PER_MINUTE: '100000',
        WORKER_PREFETCH: '1',
        WORKER_MAX_BATCH_SIZE: '1',
        WORKER_MODELS: 'tiny-bert',
      },
    });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    gate.release();
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (key: string, method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const submit = async (key: string, input: string) => {
    const response = await call(key, 'POST', '/v1/embeddings/tasks', { input });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const statusOf = async (key: string, id: string) => ((await (await call(key, 'GET', `/v1/embeddings/tasks/${id}`)).json()) as { status: string }).status;

  describe('task ownership', () => {
    it('shows a task to the key that created it and to admin keys; any other key gets the 404 of an unknown id', async () => {
      const id = await submit(ALICE, 'owned by alice');
      expect((await call(ALICE, 'GET', `/v1/embeddings/tasks/${id}`)).status).toBe(200);
      expect((await call(OPS, 'GET', `/v1/embeddings/tasks/${id}`)).status).toBe(200);

      const foreign = await call(BOB, 'GET', `/v1/embeddings/tasks/${id}`);
      const unknown = await call(BOB, 'GET', '/v1/embeddings/tasks/00000000-0000-4000-8000-000000000000');
      expect(foreign.status).toBe(404);
      const [foreignBody, unknownBody] = [(await foreign.json()) as Record<string, unknown>, (await unknown.json()) as Record<string, unknown>];
      expect(foreignBody).toMatchObject({ code: 'task_not_found', status: 404 });
      // Nothing tells a foreign task from a missing one but the id in the text.
      expect(Object.keys(foreignBody).sort()).toEqual(Object.keys(unknownBody).sort());
      expect(foreignBody.title).toBe(unknownBody.title);

      expect((await call(BOB, 'DELETE', `/v1/embeddings/tasks/${id}`)).status).toBe(404);
      gate.release();
      await waitFor(async () => (await statusOf(ALICE, id)) === 'succeeded');
      expect((await call(OPS, 'GET', `/v1/embeddings/tasks/${id}`)).status).toBe(200);
      expect((await call(BOB, 'GET', `/v1/embeddings/tasks/${id}`)).status).toBe(404);
    });
  });

  describe('cancel', () => {
    it('cancels a running task and a queued one: the first’s result is dropped, the second never runs', async () => {
      let running: string;
      gate.hold();
      try {
        running = await submit(ALICE, 'running when cancelled');
        await waitFor(async () => (await statusOf(ALICE, running)) === 'running');
        const queued = await submit(ALICE, 'queued when cancelled');
        expect(await statusOf(ALICE, queued)).toBe('queued');

        for (const id of [queued, running]) {
          const cancelled = await call(ALICE, 'DELETE', `/v1/embeddings/tasks/${id}`);
          expect(cancelled.status).toBe(200);
          expect(await cancelled.json()).toMatchObject({ id, status: 'cancelled', result: null, error: 'Cancelled by alice.' });
        }
        // Idempotent: the same answer again.
        const again = await call(ALICE, 'DELETE', `/v1/embeddings/tasks/${queued}`);
        expect(again.status).toBe(200);
        expect(await again.json()).toMatchObject({ status: 'cancelled' });
      } finally {
        gate.release();
      }
      const after = await submit(ALICE, 'after the cancels');
      await waitFor(async () => (await statusOf(ALICE, after)) === 'succeeded');
      expect(await statusOf(ALICE, running)).toBe('cancelled');
      const runningBody = (await (await call(ALICE, 'GET', `/v1/embeddings/tasks/${running}`)).json()) as { result: unknown };
      expect(runningBody.result).toBeNull();
      const ran = gate.model.batches.flat();
      expect(ran).toContain('running when cancelled');
      expect(ran).not.toContain('queued when cancelled');
      expect(t.logs.lines.some((l) => l.taskId === running && l.msg === 'task was given up while it ran; its result is dropped')).toBe(true);

      // A finished task cannot be cancelled.
      const finished = await call(ALICE, 'DELETE', `/v1/embeddings/tasks/${after}`);
      expect(finished.status).toBe(409);
      expect(await finished.json()).toMatchObject({ code: 'invalid_transition', status: 409 });
      expect(await statusOf(ALICE, after)).toBe('succeeded');
    });

    it('ends a long poll of the task at once', async () => {
      gate.hold();
      try {
        const id = await submit(ALICE, 'polled, then cancelled');
        const started = Date.now();
        const poll = call(ALICE, 'GET', `/v1/embeddings/tasks/${id}?wait=20`);
        // Give the poll time to be waiting (if it is not yet, it reads the cancelled task at once: the bound below holds either way).
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect((await call(ALICE, 'DELETE', `/v1/embeddings/tasks/${id}`)).status).toBe(200);
        expect(await (await poll).json()).toMatchObject({ status: 'cancelled' });
        expect(Date.now() - started).toBeLessThan(5_000);
      } finally {
        gate.release();
      }
    });
  });

  describe('rate limits', () => {
    it('puts OpenAI’s x-ratelimit-* headers on every API answer (OpenAI’s, Cohere’s and TEI’s routes), an error included', async () => {
      const answers = [
        await call(BOB, 'GET', '/v1/models'),
        await call(BOB, 'GET', '/v1/embeddings/tasks/no-such-task'),
        await call(BOB, 'POST', '/v2/embed', { model: 'tiny-bert', texts: ['counted'] }),
        await call(BOB, 'POST', '/v2/rerank', { model: 'tiny-bert', query: 'q', documents: ['a'] }),
        await call(BOB, 'POST', '/rerank', { query: 'q', texts: ['a'] }),
        await call(BOB, 'POST', '/embed', { inputs: 'counted' }),
        await call(BOB, 'POST', '/tei/tiny-bert', { inputs: ['counted'] }),
        await call(BOB, 'GET', '/tei/tiny-bert/info'),
      ];
      expect(answers.map((a) => a.status)).toEqual([200, 404, 200, 400, 400, 200, 200, 200]);
      for (const response of answers) {
        expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1000');
        expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(1000);
        expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/);
        expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
        expect(response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+ms|\d+(\.\d+)?s|\d+m\d+(\.\d+)?s)$/);
      }
      // A key without a request limit of its own (0) has none: no request headers.
      const unlimited = await call(OPS, 'GET', '/v1/models');
      expect(unlimited.headers.get('x-ratelimit-limit-requests')).toBeNull();
      // Health checks are not API requests.
      expect((await fetch(`${base}/health/live`)).headers.get('x-ratelimit-limit-requests')).toBeNull();
    });

    it('refuses the request past a key’s limit with 429, which the OpenAI SDK raises as RateLimitError', async () => {
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: LIMITED, maxRetries: 0 });
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const { response } = await client.models.list().withResponse();
        remaining.push(response.headers.get('x-ratelimit-remaining-requests'));
      }
      expect(remaining).toEqual(['2', '1', '0']);
      const refused = await client.embeddings.create({ model: 'tiny-bert', input: 'one too many' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
      const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
      expect(error).toMatchObject({ status: 429, code: 'rate_limit_exceeded', type: 'requests' });
      const retryAfter = Number(error.headers?.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(error.headers?.get('x-ratelimit-limit-requests')).toBe('3');
      expect(error.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
      // Other keys are not held back by it.
      expect((await call(BOB, 'GET', '/v1/models')).status).toBe(200);
    });

    it('counts the tokens a request would embed; one larger than a whole minute’s allowance is told no retry helps', async () => {
      // 60 characters: 15 estimated tokens of the 20 a minute.
      const first = await call(FRUGAL, 'POST', '/v1/embeddings/tasks', { input: 'x'.repeat(60) });
      expect(first.status).toBe(202);
      expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('5');

      const over = await call(FRUGAL, 'POST', '/v1/embeddings/tasks', { input: 'y'.repeat(60) });
      expect(over.status).toBe(429);
      expect(over.headers.get('content-type')).toBe('application/problem+json');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(over.headers.get('x-ratelimit-remaining-tokens')).toBe('5');
      expect(await over.json()).toMatchObject({ code: 'rate_limit_exceeded', status: 429 });

      // The refusal took nothing: what still fits goes through.
      expect((await call(FRUGAL, 'POST', '/v1/embeddings/tasks', { input: 'z'.repeat(20) })).status).toBe(202);

      const huge = await call(FRUGAL, 'POST', '/v1/embeddings', { model: 'tiny-bert', input: 'w'.repeat(400) });
      expect(huge.status).toBe(429);
      expect(huge.headers.get('retry-after')).toBeNull();
      expect(await huge.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', type: 'tokens', message: expect.stringMatching(/^Request too large/) } });
    });
  });
});
