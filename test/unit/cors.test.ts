import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/* CORS for browsers calling the API from another origin, only where configured. */

describe('CORS', () => {
  let open: TestService;
  let guarded: TestService;
  beforeAll(async () => {
    open = await startTestService();
    guarded = await startTestService({ env: { CORS_ORIGINS: 'https://app.example.com,https://admin.example.com', API_KEYS: 'sk-a-key-for-the-cors-test' } });
  });
  afterAll(async () => {
    await open.stop();
    await guarded.stop();
  });

  const preflight = (t: TestService, origin: string) =>
    t.service.app.request('/v1/embeddings', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  it('answers a preflight from an allowed origin with 204 and what it may send, without asking for a key', async () => {
    const response = await preflight(guarded, 'https://app.example.com');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(response.headers.get('access-control-max-age')).toBe('600');
  });

  it('lets an allowed origin read answers, refusals included, and names no other origin', async () => {
    const refused = await guarded.get('/v1/models', { origin: 'https://admin.example.com' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    const served = await guarded.get('/v1/models', { origin: 'https://admin.example.com', authorization: 'Bearer sk-a-key-for-the-cors-test' });
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
    const stranger = await guarded.get('/health/live', { origin: 'https://evil.example.net' });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('adds no CORS header at all when no origin is configured', async () => {
    const response = await open.get('/v1/models', { origin: 'https://app.example.com' });
    expect(response.status).toBe(200);
    expect([...response.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });
});
