import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * API and worker processes whose broker and store cannot be reached (nothing
 * listens on port 1): they stay up, say so on /health/ready, and turn
 * requests away with 503 instead of hanging or failing with 500.
 */

const unreachable = { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1', QUEUE_PUBLISH_TIMEOUT_MS: '500' };

describe('mode api with RabbitMQ and Redis down', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ env: { ...unreachable, MODE: 'api' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('is live but not ready, naming the failing dependencies', async () => {
    expect((await t.get('/health/live')).status).toBe(200);
    const ready = await t.get('/health/ready');
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, { status: string }> };
    expect(body.checks.queue!.status).toBe('failing');
    expect(body.checks.store!.status).toBe('failing');
  });

  it('answers a submission with 503 and Retry-After', async () => {
    const response = await t.post('/v1/embeddings/tasks', { input: 'hello' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(await response.json()).toMatchObject({ code: 'service_unavailable' });
  });

  it('lists every configured model without claiming to have loaded any', async () => {
    const body = (await (await t.get('/v1/models')).json()) as { data: { id: string; loaded: boolean | null }[] };
    expect(body.data.map((m) => [m.id, m.loaded])).toEqual([
      ['tiny-bert', null],
      ['absent-model', null],
    ]);
  });
});

describe('mode worker with RabbitMQ and Redis down', () => {
  it('serves only health endpoints, not ready while its dependencies are down', async () => {
    const t = await startTestService({ env: { ...unreachable, MODE: 'worker' } });
    try {
      await t.service.modelsSettled;
      expect((await t.get('/health/live')).status).toBe(200);
      const ready = await t.get('/health/ready');
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { checks: Record<string, { status: string }> };
      expect(body.checks['model:tiny-bert']!.status).toBe('ok');
      expect(body.checks.queue!.status).toBe('failing');
      expect((await t.post('/v1/embeddings/tasks', { input: 'x' })).status).toBe(404);
    } finally {
      await t.stop();
    }
  });
});
