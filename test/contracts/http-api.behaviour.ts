import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/*
 * The HTTP API's behaviour through app.request(): no socket, but the real
 * composition root in mode `all`, a worker and a generated BERT model, with
 * MAX_INPUTS=3, MAX_INPUT_CHARS=50 and API_BODY_LIMIT_BYTES=2000. It runs on
 * every queue and store: in memory, and on RabbitMQ with Redis.
 */
export const HTTP_BEHAVIOUR_LIMITS = {
  MAX_INPUTS: '3',
  MAX_INPUT_CHARS: '50',
  API_BODY_LIMIT_BYTES: '2000',
  CONSOLE_USER: 'ops',
  CONSOLE_PASSWORD: 'console-password',
} as const;

/** `skip` reports the suite's tests as skipped (its servers are absent) rather than declaring none. */
export function httpApiBehaviour(name: string, start: () => Promise<TestService>, options: { skip?: boolean } = {}): void {
  describe.skipIf(options.skip ?? false)(`HTTP API on ${name}`, () => {
    let t: TestService;
    beforeAll(async () => {
      t = await start();
      await t.service.modelsSettled;
    });
    afterAll(async () => {
      await t?.stop();
    });

    async function problem(response: Response) {
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const body = (await response.json()) as { status: number; code: string; errors?: { path: string }[] };
      expect(body.status).toBe(response.status);
      return body;
    }

    async function result(id: string) {
      let body: Record<string, unknown> = {};
      await waitFor(async () => {
        body = (await (await t.get(`/v1/embeddings/tasks/${id}`)).json()) as Record<string, unknown>;
        return body.status === 'succeeded' || body.status === 'failed';
      });
      return body;
    }

    describe('POST /v1/embeddings/tasks', () => {
      it('accepts texts with 202, a Location and the queued task', async () => {
        const response = await t.post('/v1/embeddings/tasks', { input: ['Hello world', 'second text'], priority: 5 });
        expect(response.status).toBe(202);
        const task = (await response.json()) as Record<string, unknown>;
        expect(response.headers.get('location')).toBe(`/v1/embeddings/tasks/${task.id}`);
        expect(task).toMatchObject({
          object: 'embedding.task',
          model: 'tiny-bert',
          status: 'queued',
          priority: 5,
          input_count: 2,
          result: null,
          error: null,
          live_workers: 1,
        });
        expect(task.notice).toBeUndefined();

        const done = await result(task.id as string);
        expect(done.status).toBe('succeeded');
        const out = done.result as { data: { index: number; embedding: number[] }[]; dimensions: number; usage: { prompt_tokens: number } };
        expect(out.dimensions).toBe(32);
        expect(out.data.map((d) => d.index)).toEqual([0, 1]);
        expect(out.data[0]!.embedding).toHaveLength(32);
        // "Hello world" is 4 tokens with [CLS] and [SEP]; "second text" is 4 as well.
        expect(out.usage.prompt_tokens).toBe(8);
        expect(done.started_at).not.toBeNull();
        expect(done.finished_at).not.toBeNull();
      });

      it('takes a single string and names the model explicitly', async () => {
        const response = await t.post('/v1/embeddings/tasks', { input: 'just one', model: 'tiny-bert' });
        expect(response.status).toBe(202);
        const done = await result(((await response.json()) as { id: string }).id);
        expect((done.result as { data: unknown[] }).data).toHaveLength(1);
      });

      it('holds GET ?wait=N until the task finishes, instead of polling', async () => {
        const { id } = (await (await t.post('/v1/embeddings/tasks', { input: 'long poll' })).json()) as { id: string };
        const done = (await (await t.get(`/v1/embeddings/tasks/${id}?wait=10`)).json()) as { status: string };
        expect(done.status).toBe('succeeded');
      });

      it('keeps an incoming x-request-id and returns it', async () => {
        const response = await t.post('/v1/embeddings/tasks', { input: 'x' }, { 'x-request-id': 'req-123' });
        expect(response.headers.get('x-request-id')).toBe('req-123');
        const own = await t.post('/v1/embeddings/tasks', { input: 'x' });
        expect(own.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      });
    });

    describe('bad input gets a clear 4xx problem, never a 500', () => {
      const cases: Array<[string, number, string, () => Promise<Response>, string?]> = [
        ['invalid JSON', 400, 'malformed_request', () => t.post('/v1/embeddings/tasks', '{"input": ')],
        [
          'a body that is not JSON',
          415,
          'unsupported_media_type',
          () => t.post('/v1/embeddings/tasks', 'input=hi', { 'content-type': 'application/x-www-form-urlencoded' }),
        ],
        ['no input field', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { model: 'tiny-bert' }), 'input'],
        ['input of the wrong type', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: 42 }), 'input'],
        ['a non-string in the list', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: ['ok', 7] }), 'input'],
        ['a JSON array body', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', ['a'])],
        ['priority above 9', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: 'a', priority: 10 }), 'priority'],
        ['a fractional priority', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: 'a', priority: 1.5 }), 'priority'],
        ['an empty model name', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: 'a', model: '' }), 'model'],
        ['an empty input list', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: [] }), 'input'],
        ['an empty string', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: '' }), 'input'],
        ['an empty string in a list', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: ['a', ''] }), 'input[1]'],
        ['more inputs than the limit', 413, 'payload_too_large', () => t.post('/v1/embeddings/tasks', { input: ['a', 'b', 'c', 'd'] }), 'input'],
        ['a text over the character limit', 413, 'payload_too_large', () => t.post('/v1/embeddings/tasks', { input: ['a', 'x'.repeat(51)] }), 'input[1]'],
        ['a body over the size limit', 413, 'payload_too_large', () => t.post('/v1/embeddings/tasks', { input: 'y'.repeat(3000) })],
        ['more items than the limit, of any kind', 413, 'payload_too_large', () => t.post('/v1/embeddings/tasks', { input: [null, null, null, null] }), 'input'],
        ['a body nested deeper than 32 levels', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', `{"input":${'['.repeat(40)}${']'.repeat(40)}}`)],
        ['a model name over 256 characters', 422, 'validation_failed', () => t.post('/v1/embeddings/tasks', { input: 'a', model: 'm'.repeat(257) }), 'model'],
        ['an unknown model', 404, 'model_not_found', () => t.post('/v1/embeddings/tasks', { input: 'a', model: 'no-such-model' })],
        ['a configured model whose files are absent', 404, 'model_not_found', () => t.post('/v1/embeddings/tasks', { input: 'a', model: 'absent-model' })],
        ['an unknown task id', 404, 'task_not_found', () => t.get('/v1/embeddings/tasks/00000000-0000-0000-0000-000000000000')],
        ['a wait over 60 seconds', 422, 'validation_failed', () => t.get('/v1/embeddings/tasks/x?wait=61'), 'wait'],
        ['a wait that is not a number', 422, 'validation_failed', () => t.get('/v1/embeddings/tasks/x?wait=soon'), 'wait'],
        ['a wait on an unknown task', 404, 'task_not_found', () => t.get('/v1/embeddings/tasks/nope?wait=30')],
        ['an unknown route', 404, 'not_found', () => t.get('/v1/nothing')],
      ];

      it.each(cases)('%s → %i %s', async (_name, status, code, send, path) => {
        const response = await send();
        expect(response.status).toBe(status);
        const body = await problem(response);
        expect(body.code).toBe(code);
        if (path) expect(body.errors?.map((e) => e.path)).toContain(path);
      });

      it('loses nothing and stays up: a task queued before the barrage and one after both succeed', async () => {
        const before = (await (await t.post('/v1/embeddings/tasks', { input: 'before' })).json()) as { id: string };
        for (const [, , , send] of cases) await send();
        const after = (await (await t.post('/v1/embeddings/tasks', { input: 'after' })).json()) as { id: string };
        expect((await result(before.id)).status).toBe('succeeded');
        expect((await result(after.id)).status).toBe('succeeded');
      });
    });

    describe('models', () => {
      it('lists the models present, with what loading revealed', async () => {
        const response = await t.get('/v1/models');
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({
          object: 'list',
          data: [
            {
              id: 'tiny-bert',
              object: 'model',
              kind: 'embedding',
              engine: 'onnx',
              description: null,
              dimensions: 32,
              max_tokens: 32,
              pooling: 'mean',
              normalized: true,
              output_dimensions: [16, 8],
              prompts: { query: 'query: ', passage: 'passage: ' },
              default_prompt_name: null,
              labels: null,
              loaded: true,
              live_workers: 1,
              default: true,
              created: expect.any(Number),
              owned_by: 'embedding-service',
            },
          ],
        });
      });

      it('describes one model', async () => {
        const response = await t.get('/v1/models/tiny-bert');
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ id: 'tiny-bert', dimensions: 32, loaded: true });
      });
    });

    describe('health and docs', () => {
      it('is live and ready once models are loaded', async () => {
        expect(await (await t.get('/health/live')).json()).toEqual({ status: 'alive' });
        const ready = await t.get('/health/ready');
        expect(ready.status).toBe(200);
        expect(await ready.json()).toEqual({
          status: 'ready',
          checks: { queue: { status: 'ok' }, store: { status: 'ok' }, 'model:tiny-bert': { status: 'ok' } },
        });
      });

      it('serves an OpenAPI document generated from the validating schemas', async () => {
        const doc = (await (await t.get('/openapi.json')).json()) as {
          openapi: string;
          paths: Record<string, unknown>;
          components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
        };
        expect(doc.openapi).toBe('3.1.0');
        expect(Object.keys(doc.paths)).toEqual(
          expect.arrayContaining(['/v1/embeddings/tasks', '/v1/embeddings/tasks/{id}', '/v1/models', '/v1/models/{id}', '/health/ready']),
        );
        expect(Object.keys(doc.components.schemas.TaskRequest!.properties!)).toEqual(['input', 'model', 'priority', 'long_text', 'chunk_overlap_tokens', 'cache']);
      });

      it('serves interactive docs, every file of them from the service itself', async () => {
        const page = await (await t.get('/docs')).text();
        const sources = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
        expect(sources).toEqual(expect.arrayContaining(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']));
        for (const source of sources) expect((await t.get(source)).status, source).toBe(200);
        expect(await (await t.get('/docs/init.js')).text()).toContain("url: '/openapi.json'");
        // Nothing else of the package is served.
        expect((await t.get('/docs/package.json')).status).toBe(404);
      });
    });

    describe('files', () => {
      it('keeps an uploaded file whole, streams it back, and forgets it when deleted', async () => {
        const content = Array.from({ length: 300 }, (_, i) => JSON.stringify({ custom_id: `c${i}`, body: { input: 'x'.repeat(i % 50) } })).join('\n');
        const form = new FormData();
        form.set('file', new Blob([content]), 'input.jsonl');
        form.set('purpose', 'batch');
        const created = await t.service.app.request('/v1/files', { method: 'POST', body: form });
        expect(created.status).toBe(200);
        const file = (await created.json()) as { id: string; bytes: number };
        expect(file.bytes).toBe(Buffer.byteLength(content));
        expect(await (await t.get(`/v1/files/${file.id}/content`)).text()).toBe(content);
        expect((await t.service.app.request(`/v1/files/${file.id}`, { method: 'DELETE' })).status).toBe(200);
        const gone = await t.get(`/v1/files/${file.id}`);
        expect(gone.status).toBe(404);
        expect(await gone.json()).toMatchObject({ error: { code: 'file_not_found' } });
      });
    });

    describe('console', () => {
      const auth = { authorization: `Basic ${Buffer.from('ops:console-password').toString('base64')}` };

      it('shows the model’s queue and worker, and the latest tasks with their owners and states', async () => {
        const { id } = (await (await t.post('/v1/embeddings/tasks', { input: 'seen by the console' })).json()) as { id: string };
        await result(id);
        const overview = (await (await t.get('/console/api/overview', auth)).json()) as {
          snapshot: { models: { id: string; workers: number; queue: { consumers: number; ready: number; deadLettered: number } }[]; workers: { models: string[]; pid: number }[] };
        };
        const model = overview.snapshot.models.find((m) => m.id === 'tiny-bert')!;
        expect(model).toMatchObject({ workers: 1, queue: { consumers: 1 } });
        expect(overview.snapshot.workers.map((w) => w.models)).toContainEqual(['tiny-bert']);
        const listed = (await (await t.get('/console/api/tasks?model=tiny-bert&status=succeeded', auth)).json()) as { tasks: { id: string; status: string }[] };
        expect(listed.tasks.map((task) => task.id)).toContain(id);
        expect(listed.tasks.every((task) => task.status === 'succeeded')).toBe(true);
        const bad = await t.get('/console/api/tasks?status=lost', auth);
        expect(bad.status).toBe(422);
      });
    });

    describe('logs', () => {
      it('writes JSON lines that carry the task id and model', async () => {
        const { id } = (await (await t.post('/v1/embeddings/tasks', { input: 'logged' })).json()) as { id: string };
        await result(id);
        await waitFor(() => t.logs.lines.some((l) => l.taskId === id && l.msg === 'task succeeded'));
        expect(t.logs.lines.find((l) => l.taskId === id && l.msg === 'task succeeded')).toMatchObject({ model: 'tiny-bert', level: 'debug' });
        // The API's access line for the submission carries the same task, with the request id the worker's line also has.
        const access = t.logs.lines.find((l) => l.taskId === id && l.msg === 'request' && l.method === 'POST')!;
        expect(access).toMatchObject({ model: 'tiny-bert', status: 202, level: 'info' });
        expect(t.logs.lines.find((l) => l.taskId === id && l.msg === 'task succeeded')!.requestId).toBe(access.requestId);
      });
    });
  });
}
