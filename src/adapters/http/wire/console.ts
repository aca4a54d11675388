import { z } from '@hono/zod-openapi';
import { BATCH_ENDPOINTS, MODEL_KINDS, TASK_STATUSES, type Batch, type Task } from '../../../domain/index.js';
import type { ConsoleSnapshot, HistoryPoint } from '../../../ports/console.js';
import type { DeadLetter } from '../../../ports/queue-inspector.js';
import { MODEL_ID_MAX } from './common.js';
import { taskFields, TaskFieldsSchema } from './tasks.js';

/*
 * The operator console's JSON (/console/api): camelCase, as the console's own
 * script reads it, and never a task's inputs or vectors.
 */

const rate = z.number().optional();

const ModelOverviewSchema = z.object({
  id: z.string(),
  kind: z.enum(MODEL_KINDS),
  queue: z.object({ ready: z.number().int(), consumers: z.number().int(), deadLettered: z.number().int() }).optional(),
  workers: z.number().int(),
  inFlight: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  submittedPerSecond: rate,
  donePerSecond: rate,
  failedPerSecond: rate,
  waitP50Ms: rate,
  waitP95Ms: rate,
  inferenceP50Ms: rate,
  inferenceP95Ms: rate,
  meanBatchSize: rate,
  oldestWaitingSeconds: rate,
});

const WorkerOverviewSchema = z.object({
  workerId: z.string(),
  host: z.string(),
  pid: z.number().int().optional(),
  models: z.array(z.string()),
  startedAt: z.string(),
  reportedAt: z.string().optional(),
  rssBytes: z.number().optional(),
  uptimeSeconds: z.number(),
  beatAgeSeconds: z.number().optional(),
  throughput: z.record(z.string(), z.number()).optional(),
  activity: z
    .record(
      z.string(),
      z.object({ done: z.number(), failed: z.number(), inFlight: z.number(), waitP50Ms: rate, waitP95Ms: rate, inferenceP50Ms: rate, inferenceP95Ms: rate, meanBatchSize: rate }),
    )
    .optional(),
});

export const SnapshotSchema = z
  .object({ at: z.string(), models: z.array(ModelOverviewSchema), workers: z.array(WorkerOverviewSchema) })
  .openapi('ConsoleSnapshot');

export const HistoryPointSchema = z
  .object({ at: z.number(), models: z.record(z.string(), z.object({ donePerSecond: rate, ready: rate })) })
  .openapi('ConsoleHistoryPoint');

export const OverviewSchema = z.object({ snapshot: SnapshotSchema, history: z.array(HistoryPointSchema) }).openapi('ConsoleOverview');

/** The snapshot as JSON: times as ISO strings, unknown figures left out. */
export function serializeSnapshot(snapshot: ConsoleSnapshot): z.infer<typeof SnapshotSchema> {
  return {
    at: snapshot.at.toISOString(),
    models: [...snapshot.models],
    workers: snapshot.workers.map(({ startedAt, reportedAt, models, ...worker }) => ({
      ...worker,
      models: [...models],
      startedAt: startedAt.toISOString(),
      ...(reportedAt && { reportedAt: reportedAt.toISOString() }),
    })),
  };
}

export function serializeOverview(overview: { snapshot: ConsoleSnapshot; history: readonly HistoryPoint[] }): z.infer<typeof OverviewSchema> {
  return { snapshot: serializeSnapshot(overview.snapshot), history: [...overview.history] };
}

export const TasksQuerySchema = z.object({
  status: z.enum(TASK_STATUSES).optional().openapi({ param: { name: 'status', in: 'query' } }),
  model: z.string().min(1).max(MODEL_ID_MAX).optional().openapi({ param: { name: 'model', in: 'query' } }),
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ param: { name: 'limit', in: 'query' } }),
});

export const BatchesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(20).openapi({ param: { name: 'limit', in: 'query' } }),
});

export const TaskSummarySchema = TaskFieldsSchema.extend({ owner: z.string().nullable(), request_id: z.string().nullable() }).openapi('ConsoleTask');

/** A task as the console lists it: what it is and where it stands, never its inputs or vectors. */
export function taskSummary(task: Task): z.infer<typeof TaskSummarySchema> {
  return { ...taskFields(task), owner: task.owner ?? null, request_id: task.requestId ?? null };
}

export const BatchSummarySchema = z
  .object({
    id: z.string(),
    endpoint: z.enum(BATCH_ENDPOINTS),
    status: z.string(),
    owner: z.string().nullable(),
    created_at: z.string(),
    total: z.number().int(),
    completed: z.number().int(),
    failed: z.number().int(),
    output_file_id: z.string().nullable(),
    error_file_id: z.string().nullable(),
  })
  .openapi('ConsoleBatch');

/** A batch as the console lists it: whose, where it stands, how far it got. */
export function batchSummary(batch: Batch): z.infer<typeof BatchSummarySchema> {
  return {
    id: batch.id,
    endpoint: batch.endpoint,
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

export const DeadLetterSchema = z
  .object({
    reason: z.string(),
    task_id: z.string().nullable(),
    priority: z.number().int().nullable(),
    input_count: z.number().int().nullable(),
    enqueued_at: z.string().nullable(),
  })
  .openapi('ConsoleDeadLetter');

export function deadLetterSummary(letter: DeadLetter): z.infer<typeof DeadLetterSchema> {
  return {
    reason: letter.reason,
    task_id: letter.message?.taskId ?? null,
    priority: letter.message?.priority ?? null,
    input_count: letter.message?.inputs.length ?? null,
    enqueued_at: letter.message?.enqueuedAt.toISOString() ?? null,
  };
}

export const ModelParamSchema = z.object({ model: z.string().min(1).max(MODEL_ID_MAX).openapi({ param: { name: 'model', in: 'path' } }) });

export const DeadLetterActionParamsSchema = ModelParamSchema.extend({
  taskId: z.string().min(1).max(128).openapi({ param: { name: 'taskId', in: 'path' } }),
  action: z.enum(['requeue', 'discard']).openapi({ param: { name: 'action', in: 'path' } }),
});
