import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { TASK_STATUSES, type Batch, type Task, type TaskStatus } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { parseOrThrow } from '../validation.js';
import { packageFile, SELF_ONLY_POLICY } from '../assets.js';
import { requireConsoleAccess, type ConsoleAccess } from './access.js';
import { CONSOLE_PAGE, CONSOLE_SCRIPT, CONSOLE_STYLE } from './page.js';

const TasksQuery = z.object({
  status: z.enum(TASK_STATUSES).optional(),
  model: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const DeadLetterAction = z.enum(['requeue', 'discard']);
const CONSOLE_REFUSAL = 'The request does not match what the console accepts.';

/** A task as the console lists it: what it is and where it stands, never its inputs or vectors. */
export function taskSummary(task: Task) {
  return {
    id: task.id,
    model: task.model,
    status: task.status,
    priority: task.priority,
    input_count: task.inputCount,
    attempts: task.attempts,
    owner: task.owner ?? null,
    created_at: task.createdAt.toISOString(),
    started_at: task.startedAt?.toISOString() ?? null,
    finished_at: task.finishedAt?.toISOString() ?? null,
    error: task.error ?? null,
    request_id: task.requestId ?? null,
  };
}

/** A batch as the console lists it: whose, where it stands, how far it got. */
export function batchSummary(batch: Batch) {
  return {
    id: batch.id,
    status: batch.status,
    owner: batch.owner ?? null,
    created_at: batch.createdAt.toISOString(),
    total: batch.requestCounts.total,
    completed: batch.requestCounts.completed,
    failed: batch.requestCounts.failed,
    output_file_id: batch.outputFileId ?? null,
    error_file_id: batch.errorFileId ?? null,
  };
}

const BatchesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

/**
 * The operator console: its page (and uPlot, from the pinned npm package), a
 * JSON API for what the page shows, a server-sent event stream that pushes
 * every new sample, and the actions (cancel, requeue or discard a dead
 * letter). Everything under /console needs console access.
 */
export function consoleRoutes(useCases: Pick<HttpUseCases, 'operatorConsole' | 'cancelTask' | 'getTaskStatus' | 'batches'>, access: ConsoleAccess, stopping?: AbortSignal): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const operator = useCases.operatorConsole;
  app.use('/console', requireConsoleAccess(access));
  app.use('/console/*', requireConsoleAccess(access));

  app.get('/console', (c) => c.html(CONSOLE_PAGE, 200, { 'content-security-policy': SELF_ONLY_POLICY }));
  app.get('/console/console.js', (c) => c.body(CONSOLE_SCRIPT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/console/console.css', (c) => c.body(CONSOLE_STYLE, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/console/uplot.js', packageFile('uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'));
  app.get('/console/uplot.css', packageFile('uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'));

  app.get('/console/api/overview', async (c) => c.json(await operator.overview()));

  app.get('/console/api/events', (c) =>
    streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'overview', data: JSON.stringify(await operator.overview()) });
      await new Promise<void>((resolve) => {
        const unsubscribe = operator.subscribe((snapshot, point) => {
          void stream.writeSSE({ event: 'sample', data: JSON.stringify({ snapshot, point }) }).catch(() => undefined);
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

  app.get('/console/api/tasks', async (c) => {
    const query = parseOrThrow(TasksQuery, c.req.query(), CONSOLE_REFUSAL, '(query)');
    const tasks = await operator.tasks({ limit: query.limit, ...(query.status && { status: query.status as TaskStatus }), ...(query.model && { model: query.model }) });
    return c.json({ tasks: tasks.map(taskSummary) });
  });
  app.get('/console/api/tasks/:id', async (c) => {
    const caller = c.get('principal');
    const task = await useCases.getTaskStatus.execute(c.req.param('id'), { ...(caller && { caller }) });
    return c.json(taskSummary(task));
  });
  app.post('/console/api/tasks/:id/cancel', async (c) => {
    const task = await useCases.cancelTask.execute(c.req.param('id'), c.get('principal'));
    return c.json(taskSummary(task));
  });

  app.get('/console/api/batches', async (c) => {
    const { limit } = parseOrThrow(BatchesQuery, c.req.query(), CONSOLE_REFUSAL, '(query)');
    // With console credentials there is no key: the console sees every batch, as an admin key does.
    const batches = await useCases.batches.list(c.get('principal'), { limit });
    return c.json({ batches: batches.map(batchSummary) });
  });

  app.get('/console/api/dead-letters/:model', async (c) => {
    const letters = await operator.deadLetters(c.req.param('model'), 100);
    return c.json({
      dead_letters: letters.map((letter) => ({
        reason: letter.reason,
        task_id: letter.message?.taskId ?? null,
        priority: letter.message?.priority ?? null,
        input_count: letter.message?.inputs.length ?? null,
        enqueued_at: letter.message?.enqueuedAt.toISOString() ?? null,
      })),
    });
  });
  app.post('/console/api/dead-letters/:model/:taskId/:action', async (c) => {
    const action = parseOrThrow(DeadLetterAction, c.req.param('action'), CONSOLE_REFUSAL, '(query)');
    await operator.resolveDeadLetter(c.req.param('model'), c.req.param('taskId'), action);
    return c.json({ ok: true, action });
  });
  return app;
}
