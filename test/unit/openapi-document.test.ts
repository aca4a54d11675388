import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * Every route the app serves is declared with its schemas, so /openapi.json
 * (and /docs) cannot drift from what the service answers. Only the pages and
 * their static files are not API.
 */

const NOT_API = [/^\/docs(\/|$)/, /^\/openapi\.json$/, /^\/console$/, /^\/console\/[\w.-]+\.(js|css)$/];

describe('the OpenAPI document', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ prometheus: true });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('declares every route the app serves, with the method it answers', async () => {
    const document = (await (await t.get('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)),
    );
    const served = t.service.app.routes
      // Middleware is registered for every method; a route answers one.
      .filter((route) => route.method !== 'ALL' && !NOT_API.some((pattern) => pattern.test(route.path)))
      .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(served.length).toBeGreaterThan(25);
    expect([...new Set(served)].filter((route) => !documented.has(route))).toEqual([]);
    for (const route of ['POST /v1/files', 'GET /v1/files/{id}/content', 'POST /v1/batches', 'POST /v1/batches/{id}/cancel', 'GET /metrics']) {
      expect(documented).toContain(route);
    }
  });
});
