import { ContainerModule } from 'inversify';
import { CancelTask } from '../../application/embeddings/cancel-task.js';
import { CreateEmbeddings } from '../../application/embeddings/create-embeddings.js';
import { CoalescedCalls } from '../../application/tasks/coalesced-calls.js';
import { SyncTasks } from '../../application/tasks/sync-tasks.js';
import { GetTaskStatus } from '../../application/embeddings/get-task-status.js';
import { RequestCheck } from '../../application/embeddings/request-check.js';
import { SubmitEmbedding } from '../../application/embeddings/submit-embedding.js';
import { SubmitTask } from '../../application/tasks/submit-task.js';
import { EnforceRateLimits } from '../../application/access/enforce-rate-limits.js';
import { LiveWorkers } from '../../application/models/live-workers.js';
import { VectorCache } from '../../application/embeddings/vector-cache.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { provide } from '../tokens.js';

/** Embedding tasks and the synchronous route: submit, read, cancel, and wait for an answer. */
export function embeddingsModule(config: AppConfig): ContainerModule {
  const { queue, api, worker } = config.service;
  // In memory a call is a function call: there is no message to save.
  const coalescing = queue.coalesce_calls && queue.driver === 'rabbitmq';
  return new ContainerModule(({ bind }) => {
    provide(bind, RequestCheck, { catalog: TOKENS.ModelCatalog, limits: TOKENS.Limits }, ({ catalog, limits }) => new RequestCheck(catalog, limits, config.service.limits.max_text_tokens));
    provide(
      bind,
      SubmitTask,
      {
        rateLimits: EnforceRateLimits,
        store: TOKENS.TaskStore,
        queue: TOKENS.TaskQueue,
        ids: TOKENS.Ids,
        clock: TOKENS.Clock,
        metrics: TOKENS.Metrics,
        logger: TOKENS.Logger,
        live: LiveWorkers,
      },
      (d) =>
        new SubmitTask(d.rateLimits, d.store, d.queue, d.ids, d.clock, d.metrics, d.logger, d.live, {
          maxQueueWaitMs: queue.max_wait_seconds * 1000,
        }),
    );
    provide(bind, SubmitEmbedding, { check: RequestCheck, tasks: SubmitTask, cache: VectorCache }, ({ check, tasks, cache }) => new SubmitEmbedding(check, tasks, cache));
    provide(
      bind,
      CancelTask,
      { store: TOKENS.TaskStore, events: TOKENS.TaskEvents, clock: TOKENS.Clock, metrics: TOKENS.Metrics, logger: TOKENS.Logger },
      (d) => new CancelTask(d.store, d.events, d.clock, d.metrics, d.logger),
    );
    provide(
      bind,
      GetTaskStatus,
      { store: TOKENS.TaskStore, events: TOKENS.TaskEvents },
      ({ store, events }) => new GetTaskStatus(store, events),
    );
    provide(
      bind,
      SyncTasks,
      { submit: SubmitTask, queue: TOKENS.TaskQueue, live: LiveWorkers, clock: TOKENS.Clock, ids: TOKENS.Ids, limits: TOKENS.Limits, tracing: TOKENS.Tracing },
      (d) =>
        new SyncTasks(d.submit, coalescing ? new CoalescedCalls(d.queue, d.ids, d.limits, d.tracing?.tracing) : d.queue, d.live, d.clock, d.ids, {
          timeoutMs: api.sync_timeout_seconds * 1000,
          noWorkerRetryAfterSeconds: worker.heartbeat_seconds,
        }),
    );
    provide(
      bind,
      CreateEmbeddings,
      { check: RequestCheck, tasks: SyncTasks, cache: VectorCache, rateLimits: EnforceRateLimits },
      ({ check, tasks, cache, rateLimits }) => new CreateEmbeddings(check, tasks, cache, rateLimits),
    );
  });
}
