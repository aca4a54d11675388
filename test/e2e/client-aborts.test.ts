import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/*
 * A client that goes away mid-request is the client's doing: it is logged
 * below error level and counted as 499, never as a 500 that would page
 * someone.
 */

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
    // The route label is the pattern matched when the body read failed (the body-limit middleware's).
    expect(t.metrics!.summary('http_request_seconds{method=POST,route=/v1/*,status=499}').count).toBe(1);
    expect(t.metrics!.summary('http_request_seconds{method=POST,route=/v1/*,status=500}').count).toBe(0);
  });
});
