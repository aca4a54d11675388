import { ContainerModule } from 'inversify';
import { CancelTask } from '../../application/cancel-task.js';
import { CheckReadiness } from '../../application/check-readiness.js';
import { CreateEmbeddings } from '../../application/create-embeddings.js';
import { EnforceRateLimits } from '../../application/enforce-rate-limits.js';
import { FileLibrary } from '../../application/file-library.js';
import { OperatorConsole } from '../../application/operator-console.js';
import { GetModel } from '../../application/get-model.js';
import { GetTaskStatus } from '../../application/get-task-status.js';
import { ListModels } from '../../application/list-models.js';
import { LiveWorkers } from '../../application/live-workers.js';
import { ModelHost } from '../../application/model-host.js';
import { SubmitEmbedding } from '../../application/submit-embedding.js';
import type { HealthCheck } from '../../ports/health-check.js';
import { defaultRateLimits } from '../config/api-keys.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { provide } from '../tokens.js';

/** The use cases, and the readiness checks: queue and store, and each served model when the process runs a worker. */
export function applicationModule(config: AppConfig, runsWorker: boolean): ContainerModule {
  return new ContainerModule(({ bind }) => {
    provide(bind, LiveWorkers, { registry: TOKENS.WorkerRegistry }, ({ registry }) => new LiveWorkers(registry));
    provide(
      bind,
      SubmitEmbedding,
      {
        catalog: TOKENS.ModelCatalog,
        store: TOKENS.TaskStore,
        queue: TOKENS.TaskQueue,
        limits: TOKENS.Limits,
        ids: TOKENS.Ids,
        clock: TOKENS.Clock,
        metrics: TOKENS.Metrics,
        logger: TOKENS.Logger,
        live: LiveWorkers,
      },
      (d) =>
        new SubmitEmbedding(d.catalog, d.store, d.queue, d.limits, d.ids, d.clock, d.metrics, d.logger, d.live, {
          maxQueueWaitMs: config.service.queue.max_wait_seconds * 1000,
        }),
    );
    provide(
      bind,
      CancelTask,
      { store: TOKENS.TaskStore, events: TOKENS.TaskEvents, clock: TOKENS.Clock, metrics: TOKENS.Metrics, logger: TOKENS.Logger },
      (d) => new CancelTask(d.store, d.events, d.clock, d.metrics, d.logger),
    );
    provide(bind, FileLibrary, { store: TOKENS.FileStore, ids: TOKENS.Ids, clock: TOKENS.Clock, metrics: TOKENS.Metrics }, (d) => {
      const { files } = config.service;
      return new FileLibrary(d.store, d.ids, d.clock, d.metrics, { maxBytes: files.max_bytes, maxLines: files.max_lines, defaultTtlSeconds: files.ttl_seconds });
    });
    provide(
      bind,
      OperatorConsole,
      { catalog: TOKENS.ModelCatalog, queue: TOKENS.TaskQueue, store: TOKENS.TaskStore, registry: TOKENS.WorkerRegistry, clock: TOKENS.Clock },
      (d) => new OperatorConsole(d.catalog, d.queue, d.store, d.registry, d.clock, { sampleMs: 2_000, historyMs: 15 * 60_000 }),
    );
    provide(
      bind,
      EnforceRateLimits,
      { limiter: TOKENS.RateLimiter },
      ({ limiter }) => new EnforceRateLimits(limiter, defaultRateLimits(config.service)),
    );
    provide(
      bind,
      GetTaskStatus,
      { store: TOKENS.TaskStore, events: TOKENS.TaskEvents },
      ({ store, events }) => new GetTaskStatus(store, events),
    );
    provide(bind, ListModels, { catalog: TOKENS.ModelCatalog, live: LiveWorkers }, ({ catalog, live }) => new ListModels(catalog, live));
    provide(bind, GetModel, { catalog: TOKENS.ModelCatalog, live: LiveWorkers }, ({ catalog, live }) => new GetModel(catalog, live));
    provide(
      bind,
      CreateEmbeddings,
      {
        catalog: TOKENS.ModelCatalog,
        submit: SubmitEmbedding,
        status: GetTaskStatus,
        store: TOKENS.TaskStore,
        events: TOKENS.TaskEvents,
        ids: TOKENS.Ids,
        live: LiveWorkers,
        clock: TOKENS.Clock,
      },
      (d) =>
        new CreateEmbeddings(d.catalog, d.submit, d.status, d.store, d.events, d.ids, d.live, d.clock, {
          timeoutMs: config.service.api.sync_timeout_seconds * 1000,
          noWorkerRetryAfterSeconds: config.service.worker.heartbeat_seconds,
        }),
    );

    const dependencies = { queue: TOKENS.TaskQueue, store: TOKENS.TaskStore };
    const checks = ({ queue, store }: { queue: { ping(): Promise<void> }; store: { ping(): Promise<void> } }): HealthCheck[] => [
      { name: 'queue', check: () => queue.ping() },
      { name: 'store', check: () => store.ping() },
    ];
    if (runsWorker) {
      provide(bind, TOKENS.HealthChecks, { ...dependencies, host: ModelHost }, (d) => [...checks(d), ...d.host.healthChecks()]);
    } else {
      provide(bind, TOKENS.HealthChecks, dependencies, checks);
    }
    provide(bind, CheckReadiness, { checks: TOKENS.HealthChecks }, ({ checks }) => new CheckReadiness(checks));
  });
}
