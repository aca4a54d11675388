import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { AcceptedTaskSchema, problems, TaskIdParamSchema, TaskRequestSchema, TaskSchema, WaitQuerySchema } from '../schemas.js';
import { serializeTask } from '../serialize.js';

const submit = createRoute({
  method: 'post',
  path: '/v1/embeddings/tasks',
  tags: ['Tasks'],
  summary: 'Queue texts for embedding',
  request: {
    body: { required: true, content: { 'application/json': { schema: TaskRequestSchema } } },
  },
  responses: {
    202: {
      description: 'Accepted and queued. Poll the Location header for the result.',
      headers: { Location: { schema: { type: 'string' }, description: 'The task resource' } },
      content: { 'application/json': { schema: AcceptedTaskSchema } },
    },
    ...problems(400, 404, 413, 415, 422, 503),
  },
});

const status = createRoute({
  method: 'get',
  path: '/v1/embeddings/tasks/{id}',
  tags: ['Tasks'],
  summary: 'A task’s status, and its embeddings once it has succeeded',
  request: { params: TaskIdParamSchema, query: WaitQuerySchema },
  responses: {
    200: { description: 'The task', content: { 'application/json': { schema: TaskSchema } } },
    ...problems(404, 422),
  },
});

export function taskRoutes(useCases: HttpUseCases) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(submit, async (c) => {
    const body = c.req.valid('json');
    const { task, liveWorkers } = await useCases.submitEmbedding.execute({
      requestId: c.get('requestId'),
      inputs: typeof body.input === 'string' ? [body.input] : body.input,
      ...(body.model !== undefined && { model: body.model }),
      ...(body.priority !== undefined && { priority: body.priority }),
    });
    c.set('taskId', task.id);
    c.set('model', task.model);
    const accepted = {
      ...serializeTask(task),
      live_workers: liveWorkers ?? null,
      ...(liveWorkers === 0 && {
        notice: `No live worker serves model '${task.model}' now; the task waits in its queue until one does.`,
      }),
    };
    return c.json(accepted, 202, { Location: `/v1/embeddings/tasks/${task.id}` });
  });

  app.openapi(status, async (c) => {
    const wait = c.req.valid('query').wait ?? 0;
    const task = await useCases.getTaskStatus.execute(c.req.valid('param').id, wait * 1000);
    c.set('taskId', task.id);
    c.set('model', task.model);
    return c.json(serializeTask(task), 200);
  });

  return app;
}
