import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * A reranker (a cross-encoder) configured beside the embedding models, in
 * the embedded mode: it is loaded, listed with its kind, counted in
 * readiness, and refused by the embedding routes with a 4xx that names its
 * kind. (The rerank routes come with the rest of issue 25.)
 */

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ withReranker: true });
  await t.service.modelsSettled;
});
afterAll(async () => {
  await t.stop();
});

describe('a configured reranker', () => {
  it('is loaded and listed with its kind, length and labels; embedding models with theirs', async () => {
    const { data } = (await (await t.get('/v1/models')).json()) as { data: Record<string, unknown>[] };
    expect(data.find((m) => m.id === 'tiny-reranker')).toMatchObject({
      kind: 'reranker',
      engine: 'onnx',
      max_tokens: 32,
      labels: 1,
      dimensions: null,
      pooling: null,
      loaded: true,
      default: false,
    });
    expect(data.find((m) => m.id === 'tiny-bert')).toMatchObject({ kind: 'embedding', labels: null, dimensions: 32, default: true });
    expect(await (await t.get('/v1/models/tiny-reranker')).json()).toMatchObject({ kind: 'reranker' });
  });

  it('counts in readiness like any model', async () => {
    const ready = (await (await t.get('/health/ready')).json()) as { checks: Record<string, { status: string }> };
    expect(ready.checks['model:tiny-reranker']).toEqual({ status: 'ok' });
  });

  it('is refused by the embedding routes with 400 naming its kind, in each route’s error shape', async () => {
    const sync = await t.post('/v1/embeddings', { model: 'tiny-reranker', input: 'hello' });
    expect(sync.status).toBe(400);
    expect(await sync.json()).toEqual({
      error: expect.objectContaining({
        code: 'invalid_parameter',
        param: 'model',
        message: expect.stringContaining("Model 'tiny-reranker' is a reranker; this route takes an embedding model."),
      }),
    });
    const task = await t.post('/v1/embeddings/tasks', { model: 'tiny-reranker', input: 'hello' });
    expect(task.status).toBe(400);
    expect(task.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await task.json()).toMatchObject({ code: 'invalid_parameter', detail: expect.stringContaining('is a reranker') });
  });
});
