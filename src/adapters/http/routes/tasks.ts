import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { TASKS_ENDPOINT, type Task } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { IdParamSchema, NEEDS_API_KEY } from '../wire/common.js';
import { problems } from '../wire/errors.js';
import { AcceptedTaskSchema, serializeTask, TaskRequestSchema, TaskSchema, WaitQuerySchema } from '../wire/tasks.js';
import { longTextChoice } from '../wire/embeddings.js';
import { noCache } from './answered.js';

const submit = createRoute({
  method: 'post',
  path: TASKS_ENDPOINT,
  security: NEEDS_API_KEY,
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
    ...problems(400, 401, 404, 413, 415, 422, 429, 503),
  },
});

const status = createRoute({
  method: 'get',
  path: `${TASKS_ENDPOINT}/{id}`,
  security: NEEDS_API_KEY,
  tags: ['Tasks'],
  summary: 'A task’s status, and its embeddings once it has succeeded',
  request: { params: IdParamSchema, query: WaitQuerySchema },
  responses: {
    200: { description: 'The task', content: { 'application/json': { schema: TaskSchema } } },
    ...problems(401, 404, 422, 429),
  },
});

const cancel = createRoute({
  method: 'delete',
  path: `${TASKS_ENDPOINT}/{id}`,
  security: NEEDS_API_KEY,
  tags: ['Tasks'],
  summary: 'Cancel a queued or running task',
  description:
    'The task becomes `cancelled`: a worker that has not started it skips it, and one running it has its result dropped. ' +
    'Cancelling a cancelled task answers the same again; a task that finished otherwise answers 409.',
  request: { params: IdParamSchema },
  responses: {
    200: { description: 'The cancelled task', content: { 'application/json': { schema: TaskSchema } } },
    ...problems(401, 404, 409, 429),
  },
});

/** The task as JSON, with its id and model in the access log. */
function answerTask(c: Context<HttpEnv>, task: Task) {
  c.set('taskId', task.id);
  c.set('model', task.model);
  return c.json(serializeTask(task), 200);
}

export function taskRoutes(useCases: HttpUseCases) {
  const app = new OpenAPIHono<HttpEnv>();

  app.openapi(submit, async (c) => {
    const body = c.req.valid('json');
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const caller = c.get('principal');
    const { task, liveWorkers, tokens } = await useCases.submitEmbedding.execute({
      requestId: c.get('requestId'),
      inputs,
      ...(body.model !== undefined && { model: body.model }),
      ...(body.priority !== undefined && { priority: body.priority }),
      ...(caller && { caller }),
      ...longTextChoice(body.long_text, body.chunk_overlap_tokens),
      ...(noCache(c, body.cache) && { cache: false as const }),
    });
    if (tokens) c.set('rateLimits', { ...c.get('rateLimits'), tokens });
    c.set('taskId', task.id);
    c.set('model', task.model);
    const accepted = {
      ...serializeTask(task),
      live_workers: liveWorkers ?? null,
      // A task the embedding cache answered whole waits for no worker.
      ...(liveWorkers === 0 && task.status === 'queued' && {
        notice: `No live worker serves model '${task.model}' now; the task waits in its queue until one does.`,
      }),
    };
    return c.json(accepted, 202, { Location: `${TASKS_ENDPOINT}/${task.id}` });
  });

  app.openapi(status, async (c) => {
    const wait = c.req.valid('query').wait ?? 0;
    const caller = c.get('principal');
    return answerTask(c, await useCases.getTaskStatus.execute(c.req.valid('param').id, { waitMs: wait * 1000, ...(caller && { caller }) }));
  });

  app.openapi(cancel, async (c) => answerTask(c, await useCases.cancelTask.execute(c.req.valid('param').id, c.get('principal'))));

  return app;
}
