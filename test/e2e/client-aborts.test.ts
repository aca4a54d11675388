import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { gatedModel } from '../support/stub-model.js';
import { waitFor } from '../support/wait.js';

/*
 * A client that goes away mid-request is the client's doing: it is logged
 * below error level and counted as 499, never as a 500 that would page
 * someone.
 */

describe('a client that goes away while its embeddings are computed', () => {
  it('is let go at once (499); the worker finishes its call, and the answer nobody waits for is dropped', async () => {
    const { model, release } = gatedModel();
    const t = await startTestService({ listen: true, loadModel: async () => model });
    await t.service.modelsSettled;
    try {
      const leaving = new AbortController();
      const request = fetch(`http://127.0.0.1:${t.service.port}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'tiny-bert', input: 'never mind' }),
        signal: leaving.signal,
      }).catch(() => undefined);
      // The worker has the call (it is waiting on the model) when the client leaves.
      await waitFor(() => t.metrics!.counter('tasks_in_flight{model=tiny-bert}') === 1, 5_000, 'the worker to take the call');
      leaving.abort();
      await request;
      await waitFor(() => t.logs.lines.some((l) => l.msg === 'request' && l.status === 499), 5_000, 'the 499');
      release();
      await waitFor(() => t.metrics!.summary('task_seconds{model=tiny-bert,outcome=succeeded}').count === 1, 5_000, 'the call to finish');
      expect(t.metrics!.counter('tasks_in_flight{model=tiny-bert}')).toBe(0);
      expect(t.logs.lines.filter((l) => Number(l.level) >= 50)).toEqual([]);
      expect((await t.post('/v1/embeddings', { model: 'tiny-bert', input: 'still served' })).status).toBe(200);
    } finally {
      release();
      await t.stop();
    }
  });
});

describe('a client that aborts its upload', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ listen: true });
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t.stop();
  });

  it('is logged below error level and counted as status 499', async () => {
    await new Promise<void>((resolve) => {
      const upload = request({
        host: '127.0.0.1',
        port: t.service.port,
        method: 'POST',
        path: '/v1/embeddings/tasks',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      upload.on('error', () => resolve());
      upload.write('{"input": ["the start of a long upload');
      setTimeout(() => {
        upload.destroy();
        resolve();
      }, 100);
    });
    await waitFor(() => t.logs.lines.some((l) => l.msg === 'request' && l.status === 499), 5_000, 'the access line');
    expect(t.logs.lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(t.logs.lines.find((l) => l.msg === 'client closed the request')).toMatchObject({ level: 'info', path: '/v1/embeddings/tasks' });
    // The route label is the pattern matched when the body read failed (the body-limit middleware's, which guards every route).
    expect(t.metrics!.summary('http_request_seconds{method=POST,route=/*,status=499}').count).toBe(1);
    expect(t.metrics!.summary('http_request_seconds{method=POST,route=/*,status=500}').count).toBe(0);
  });
});
