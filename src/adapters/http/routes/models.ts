import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { problems } from '../wire/errors.js';
import { ModelIdParamSchema, ModelListSchema, ModelSchema, serializeModel } from '../wire/models.js';

const list = createRoute({
  method: 'get',
  path: '/v1/models',
  security: NEEDS_API_KEY,
  tags: ['Models'],
  summary: 'The models this deployment serves',
  responses: {
    200: { description: 'Every configured model', content: { 'application/json': { schema: ModelListSchema } } },
  },
});

const get = createRoute({
  method: 'get',
  path: '/v1/models/{id}',
  security: NEEDS_API_KEY,
  tags: ['Models'],
  summary: 'One model',
  request: { params: ModelIdParamSchema },
  responses: {
    200: { description: 'The model', content: { 'application/json': { schema: ModelSchema } } },
    ...problems(404),
  },
});

export function modelRoutes(useCases: HttpUseCases, defaultModelId: string) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(list, async (c) => {
    const models = await useCases.listModels.execute();
    return c.json({ object: 'list' as const, data: models.map((m) => serializeModel(m, defaultModelId)) }, 200);
  });

  app.openapi(get, async (c) => {
    const model = await useCases.getModel.execute(c.req.valid('param').id);
    return c.json(serializeModel(model, defaultModelId), 200);
  });

  return app;
}
