import 'reflect-metadata';
import { Container, ContainerModule } from 'inversify';
import { createHealthApp, createHttpApp } from '../adapters/http/app.js';
import { HttpLifecycle } from '../adapters/http/lifecycle.js';
import { ElasticsearchLogStream } from '../adapters/elasticsearch/elasticsearch-log-stream.js';
import { PrometheusMetrics } from '../adapters/prometheus/prometheus-metrics.js';
import { MemoryBroker, MemoryTaskQueue } from '../adapters/memory/memory-task-queue.js';
import { MemoryTaskEvents } from '../adapters/memory/memory-task-events.js';
import { MemoryTaskStore } from '../adapters/memory/memory-task-store.js';
import { MemoryWorkerRegistry } from '../adapters/memory/memory-worker-registry.js';
import { RabbitMqTaskQueue } from '../adapters/rabbitmq/rabbitmq-task-queue.js';
import { RedisTaskEvents } from '../adapters/redis/redis-task-events.js';
import { RedisTaskStore } from '../adapters/redis/redis-task-store.js';
import { RedisWorkerRegistry } from '../adapters/redis/redis-worker-registry.js';
import { createPinoLogger } from '../adapters/pino/pino-logger.js';
import { systemClock, uuidGenerator } from '../adapters/system/system-clock.js';
import { CheckReadiness } from '../application/check-readiness.js';
import { CreateEmbeddings } from '../application/create-embeddings.js';
import { GetModel } from '../application/get-model.js';
import { GetTaskStatus } from '../application/get-task-status.js';
import { ListModels } from '../application/list-models.js';
import { LiveWorkers } from '../application/live-workers.js';
import { SubmitEmbedding } from '../application/submit-embedding.js';
import type { InputLimits } from '../domain/index.js';
import type { Clock } from '../ports/clock.js';
import type { HealthCheck } from '../ports/health-check.js';
import type { IdGenerator } from '../ports/id-generator.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { ModelCatalog } from '../ports/model-catalog.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TaskEvents } from '../ports/task-events.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkerRegistry } from '../ports/worker-registry.js';
import { amqpUrl, elasticsearchNode, type AppConfig } from './config.js';
import { toSpec } from './models.js';

/** Service identifiers. Everything is a singleton within one container, and a test can build its own. */
export const TOKENS = {
  Config: Symbol('Config'),
  Logger: Symbol('Logger'),
  Metrics: Symbol('Metrics'),
  Clock: Symbol('Clock'),
  Ids: Symbol('Ids'),
  Limits: Symbol('Limits'),
  TaskQueue: Symbol('TaskQueue'),
  TaskStore: Symbol('TaskStore'),
  TaskEvents: Symbol('TaskEvents'),
  WorkerRegistry: Symbol('WorkerRegistry'),
  LiveWorkers: Symbol('LiveWorkers'),
  ModelCatalog: Symbol('ModelCatalog'),
  HealthChecks: Symbol('HealthChecks'),
  SubmitEmbedding: Symbol('SubmitEmbedding'),
  GetTaskStatus: Symbol('GetTaskStatus'),
  ListModels: Symbol('ListModels'),
  GetModel: Symbol('GetModel'),
  CheckReadiness: Symbol('CheckReadiness'),
  CreateEmbeddings: Symbol('CreateEmbeddings'),
  HttpApp: Symbol('HttpApp'),
  HealthApp: Symbol('HealthApp'),
  RenderMetrics: Symbol('RenderMetrics'),
  HttpLifecycle: Symbol('HttpLifecycle'),
  LogShipper: Symbol('LogShipper'),
} as const;

/** The Prometheus exposition when metrics are Prometheus's, else null (no /metrics route). */
export type RenderMetrics = (() => Promise<{ contentType: string; body: string }>) | null;

export interface CoreOverrides {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

/**
 * Metrics (Prometheus unless a test brings its own) and logs: JSON lines on
 * stdout, and with LOGGER_HANDLER=elasticsearch also shipped to Elasticsearch,
 * whose drops are counted in the metrics.
 */
export function coreModule(config: AppConfig, overrides: CoreOverrides = {}): ContainerModule {
  const metrics = overrides.metrics ?? new PrometheusMetrics();
  const { logging, elasticsearch } = config.service;
  const shipper =
    !overrides.logger && logging.handler === 'elasticsearch'
      ? new ElasticsearchLogStream({
          node: elasticsearchNode(config.service),
          dataStream: elasticsearch.data_stream,
          batchSize: elasticsearch.batch_size,
          flushIntervalMs: elasticsearch.flush_interval_ms,
          maxBuffered: elasticsearch.max_buffered,
          onDropped: (count) => metrics.logsDropped(count),
        })
      : null;
  return new ContainerModule(({ bind }) => {
    bind(TOKENS.Config).toConstantValue(config);
    bind(TOKENS.HttpLifecycle).toConstantValue(new HttpLifecycle(5));
    bind<Logger>(TOKENS.Logger).toConstantValue(
      overrides.logger ??
        createPinoLogger({ level: logging.level, name: 'embedding-service', ...(shipper && { alsoTo: shipper }) }),
    );
    bind(TOKENS.LogShipper).toConstantValue(shipper);
    bind<Metrics>(TOKENS.Metrics).toConstantValue(metrics);
    bind<RenderMetrics>(TOKENS.RenderMetrics).toConstantValue(
      metrics instanceof PrometheusMetrics ? () => metrics.render() : null,
    );
    bind<Clock>(TOKENS.Clock).toConstantValue(systemClock);
    bind<IdGenerator>(TOKENS.Ids).toConstantValue(uuidGenerator);
    bind<InputLimits>(TOKENS.Limits).toConstantValue({
      maxInputs: config.service.limits.max_inputs,
      maxInputChars: config.service.limits.max_input_chars,
    });
  });
}

/** The queue adapter the configuration names: in this process, or RabbitMQ. */
export function queueModule(config: AppConfig): ContainerModule {
  const { queue } = config.service;
  return new ContainerModule(({ bind }) => {
    if (queue.driver === 'memory') {
      bind<TaskQueue>(TOKENS.TaskQueue).toConstantValue(new MemoryTaskQueue(new MemoryBroker(queue.max_length)));
      return;
    }
    bind<TaskQueue>(TOKENS.TaskQueue).toResolvedValue(
      (logger: Logger) =>
        new RabbitMqTaskQueue({
          url: amqpUrl(config.service),
          queues: new Map(config.ml.models.map((m) => [m.id, toSpec(m).queue])),
          maxLength: queue.max_length,
          publishTimeoutMs: queue.publish_timeout_ms,
          logger: logger.child({ component: 'rabbitmq' }),
        }),
      [TOKENS.Logger],
    );
  });
}

/** The store, and the announcements of finished tasks that go with it: in this process, or Redis. */
export function storeModule(config: AppConfig): ContainerModule {
  const { store, redis } = config.service;
  return new ContainerModule(({ bind }) => {
    if (store.driver === 'memory') {
      bind<TaskStore>(TOKENS.TaskStore).toConstantValue(
        new MemoryTaskStore({ ttlSeconds: store.ttl_seconds, maxTasks: store.max_tasks }),
      );
      bind<TaskEvents>(TOKENS.TaskEvents).toConstantValue(new MemoryTaskEvents());
      bind<WorkerRegistry>(TOKENS.WorkerRegistry).toConstantValue(new MemoryWorkerRegistry());
      return;
    }
    const connection = redis.url
      ? { url: redis.url }
      : { host: redis.host, port: redis.port, password: redis.password, db: redis.db, tls: redis.tls };
    bind<TaskStore>(TOKENS.TaskStore).toConstantValue(
      new RedisTaskStore({ ...connection, keyPrefix: redis.key_prefix, ttlSeconds: store.ttl_seconds }),
    );
    bind<TaskEvents>(TOKENS.TaskEvents).toConstantValue(new RedisTaskEvents({ ...connection, keyPrefix: redis.key_prefix }));
    bind<WorkerRegistry>(TOKENS.WorkerRegistry).toConstantValue(
      new RedisWorkerRegistry({ ...connection, keyPrefix: redis.key_prefix }),
    );
  });
}

export function catalogModule(catalog: ModelCatalog, extraChecks: readonly HealthCheck[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind<ModelCatalog>(TOKENS.ModelCatalog).toConstantValue(catalog);
    bind<readonly HealthCheck[]>(TOKENS.HealthChecks).toResolvedValue(
      (queue: TaskQueue, store: TaskStore) => [
        { name: 'queue', check: () => queue.ping() },
        { name: 'store', check: () => store.ping() },
        ...extraChecks,
      ],
      [TOKENS.TaskQueue, TOKENS.TaskStore],
    );
  });
}

export const applicationModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.LiveWorkers).toResolvedValue(
    (registry: WorkerRegistry) => new LiveWorkers(registry),
    [TOKENS.WorkerRegistry],
  );
  bind(TOKENS.SubmitEmbedding).toResolvedValue(
    (...deps: ConstructorParameters<typeof SubmitEmbedding>) => new SubmitEmbedding(...deps),
    [
      TOKENS.ModelCatalog,
      TOKENS.TaskStore,
      TOKENS.TaskQueue,
      TOKENS.Limits,
      TOKENS.Ids,
      TOKENS.Clock,
      TOKENS.Metrics,
      TOKENS.Logger,
      TOKENS.LiveWorkers,
    ],
  );
  bind(TOKENS.GetTaskStatus).toResolvedValue(
    (store: TaskStore, events: TaskEvents) => new GetTaskStatus(store, events),
    [TOKENS.TaskStore, TOKENS.TaskEvents],
  );
  bind(TOKENS.ListModels).toResolvedValue(
    (catalog: ModelCatalog, live: LiveWorkers) => new ListModels(catalog, live),
    [TOKENS.ModelCatalog, TOKENS.LiveWorkers],
  );
  bind(TOKENS.GetModel).toResolvedValue(
    (catalog: ModelCatalog, live: LiveWorkers) => new GetModel(catalog, live),
    [TOKENS.ModelCatalog, TOKENS.LiveWorkers],
  );
  bind(TOKENS.CreateEmbeddings).toResolvedValue(
    (config: AppConfig, catalog: ModelCatalog, submit: SubmitEmbedding, status: GetTaskStatus) =>
      new CreateEmbeddings(catalog, submit, status, config.service.api.sync_timeout_seconds * 1000),
    [TOKENS.Config, TOKENS.ModelCatalog, TOKENS.SubmitEmbedding, TOKENS.GetTaskStatus],
  );
  bind(TOKENS.CheckReadiness).toResolvedValue(
    (checks: readonly HealthCheck[]) => new CheckReadiness(checks),
    [TOKENS.HealthChecks],
  );
});

export const httpModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.HttpApp).toResolvedValue(
    (
      config: AppConfig,
      submitEmbedding: SubmitEmbedding,
      getTaskStatus: GetTaskStatus,
      listModels: ListModels,
      getModel: GetModel,
      checkReadiness: CheckReadiness,
      createEmbeddings: CreateEmbeddings,
      logger: Logger,
      metrics: Metrics,
      render: RenderMetrics,
      lifecycle: HttpLifecycle,
    ) =>
      createHttpApp(
        { submitEmbedding, getTaskStatus, listModels, getModel, checkReadiness, createEmbeddings },
        {
          bodyLimitBytes: config.service.api.body_limit_bytes,
          defaultModelId: config.ml.default_model,
          ...(render && { renderMetrics: render }),
          lifecycle,
        },
        logger,
        metrics,
      ),
    [
      TOKENS.Config,
      TOKENS.SubmitEmbedding,
      TOKENS.GetTaskStatus,
      TOKENS.ListModels,
      TOKENS.GetModel,
      TOKENS.CheckReadiness,
      TOKENS.CreateEmbeddings,
      TOKENS.Logger,
      TOKENS.Metrics,
      TOKENS.RenderMetrics,
      TOKENS.HttpLifecycle,
    ],
  );
});

export const healthModule = new ContainerModule(({ bind }) => {
  bind(TOKENS.HealthApp).toResolvedValue(
    (checkReadiness: CheckReadiness, logger: Logger, metrics: Metrics, render: RenderMetrics, lifecycle: HttpLifecycle) =>
      createHealthApp(checkReadiness, logger, metrics, render ?? undefined, lifecycle),
    [TOKENS.CheckReadiness, TOKENS.Logger, TOKENS.Metrics, TOKENS.RenderMetrics, TOKENS.HttpLifecycle],
  );
});

export function newContainer(...modules: ContainerModule[]): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(...modules);
  return container;
}
