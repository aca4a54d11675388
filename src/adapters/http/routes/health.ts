import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { LivenessSchema, ReadinessSchema } from '../wire/health.js';

const live = createRoute({
  method: 'get',
  path: '/health/live',
  tags: ['Health'],
  summary: 'The process is up and serving HTTP',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: LivenessSchema } } } },
});

const ready = createRoute({
  method: 'get',
  path: '/health/ready',
  tags: ['Health'],
  summary: 'Every dependency is usable: send traffic',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadinessSchema } } },
    503: { description: 'Not ready yet, or a dependency is down', content: { 'application/json': { schema: ReadinessSchema } } },
  },
});

export function healthRoutes(useCases: Pick<HttpUseCases, 'checkReadiness'>) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(live, (c) => c.json({ status: 'alive' as const }, 200));

  app.openapi(ready, async (c) => {
    const report = await useCases.checkReadiness.execute();
    const body = { status: report.ready ? ('ready' as const) : ('not_ready' as const), checks: report.checks };
    return report.ready ? c.json(body, 200) : c.json(body, 503);
  });

  return app;
}
