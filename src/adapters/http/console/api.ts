import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { IdParamSchema, NEEDS_CONSOLE_ACCESS } from '../wire/common.js';
import {
  batchSummary,
  BatchesQuerySchema,
  BatchSummarySchema,
  deadLetterSummary,
  DeadLetterActionParamsSchema,
  DeadLetterSchema,
  ModelParamSchema,
  OverviewSchema,
  serializeOverview,
  serializeSnapshot,
  taskSummary,
  TasksQuerySchema,
  TaskSummarySchema,
} from '../wire/console.js';
import { problems } from '../wire/errors.js';

const refusals = problems(401, 404, 409, 422);

const json = <T extends z.ZodType>(description: string, schema: T) => ({ description, content: { 'application/json': { schema } } });

const overview = createRoute({
  method: 'get',
  path: '/console/api/overview',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'Models, queues and workers now, with the charts’ history',
  responses: { 200: json('The overview', OverviewSchema), ...problems(401) },
});

const events = createRoute({
  method: 'get',
  path: '/console/api/events',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'Server-sent events: the overview, then every new sample',
  responses: { 200: { description: 'An event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...problems(401) },
});

const tasks = createRoute({
  method: 'get',
  path: '/console/api/tasks',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'The latest tasks, newest first',
  request: { query: TasksQuerySchema },
  responses: { 200: json('Tasks', z.object({ tasks: z.array(TaskSummarySchema) })), ...refusals },
});

const task = createRoute({
  method: 'get',
  path: '/console/api/tasks/{id}',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'One task, without its inputs or vectors',
  request: { params: IdParamSchema },
  responses: { 200: json('The task', TaskSummarySchema), ...refusals },
});

const cancelTask = createRoute({
  method: 'post',
  path: '/console/api/tasks/{id}/cancel',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'Cancel a queued or running task',
  request: { params: IdParamSchema },
  responses: { 200: json('The cancelled task', TaskSummarySchema), ...refusals },
});

const batches = createRoute({
  method: 'get',
  path: '/console/api/batches',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'The latest batches, everyone’s',
  request: { query: BatchesQuerySchema },
  responses: { 200: json('Batches', z.object({ batches: z.array(BatchSummarySchema) })), ...refusals },
});

const deadLetters = createRoute({
  method: 'get',
  path: '/console/api/dead-letters/{model}',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'The oldest messages in a model’s dead-letter queue, with why',
  request: { params: ModelParamSchema },
  responses: { 200: json('Dead letters', z.object({ dead_letters: z.array(DeadLetterSchema) })), ...refusals },
});

const resolveDeadLetter = createRoute({
  method: 'post',
  path: '/console/api/dead-letters/{model}/{taskId}/{action}',
  security: NEEDS_CONSOLE_ACCESS,
  tags: ['Console'],
  summary: 'Requeue or discard a dead-lettered task',
  request: { params: DeadLetterActionParamsSchema },
  responses: { 200: json('Done', z.object({ ok: z.literal(true), action: z.enum(['requeue', 'discard']) })), ...refusals },
});

/**
 * The console's JSON API: what the page shows, a server-sent event stream
 * that pushes every new sample, and the actions (cancel, requeue or discard
 * a dead letter). The console module puts its access check in front.
 */
export function consoleApiRoutes(
  useCases: Pick<HttpUseCases, 'operatorConsole' | 'cancelTask' | 'getTaskStatus' | 'batches'>,
  stopping?: AbortSignal,
): OpenAPIHono<HttpEnv> {
  const app = new OpenAPIHono<HttpEnv>();
  const operator = useCases.operatorConsole;

  app.openapi(overview, async (c) => c.json(serializeOverview(await operator.overview()), 200));

  app.openapi(events, (c) =>
    streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'overview', data: JSON.stringify(serializeOverview(await operator.overview())) });
      await new Promise<void>((resolve) => {
        const unsubscribe = operator.subscribe((snapshot, point) => {
          void stream.writeSSE({ event: 'sample', data: JSON.stringify({ snapshot: serializeSnapshot(snapshot), point }) }).catch(() => undefined);
        });
        const end = () => {
          unsubscribe();
          resolve();
        };
        stream.onAbort(end);
        // A draining process ends its streams, so that shutdown does not wait on open consoles; EventSource reconnects elsewhere.
        if (stopping?.aborted) end();
        stopping?.addEventListener('abort', end, { once: true });
      });
    }),
  );

  app.openapi(tasks, async (c) => {
    const { limit, status, model } = c.req.valid('query');
    const found = await operator.tasks({ limit, ...(status && { status }), ...(model && { model }) });
    return c.json({ tasks: found.map(taskSummary) }, 200);
  });
  app.openapi(task, async (c) => {
    const caller = c.get('principal');
    return c.json(taskSummary(await useCases.getTaskStatus.execute(c.req.valid('param').id, { ...(caller && { caller }) })), 200);
  });
  app.openapi(cancelTask, async (c) => c.json(taskSummary(await useCases.cancelTask.execute(c.req.valid('param').id, c.get('principal'))), 200));

  app.openapi(batches, async (c) => {
    // With console credentials there is no key: the console sees every batch, as an admin key does.
    const found = await useCases.batches.list(c.get('principal'), { limit: c.req.valid('query').limit });
    return c.json({ batches: found.map(batchSummary) }, 200);
  });

  app.openapi(deadLetters, async (c) => {
    const letters = await operator.deadLetters(c.req.valid('param').model, 100);
    return c.json({ dead_letters: letters.map(deadLetterSummary) }, 200);
  });
  app.openapi(resolveDeadLetter, async (c) => {
    const { model, taskId, action } = c.req.valid('param');
    await operator.resolveDeadLetter(model, taskId, action);
    return c.json({ ok: true as const, action }, 200);
  });
  return app;
}
