import { ContainerModule } from 'inversify';
import { FilesystemFileStore } from '../../adapters/filesystem/filesystem-file-store.js';
import { MemoryBatchStore } from '../../adapters/memory/memory-batch-store.js';
import { MemoryRateLimiter } from '../../adapters/memory/memory-rate-limiter.js';
import { MemoryBroker, MemoryTaskQueue } from '../../adapters/memory/memory-task-queue.js';
import { MemoryTaskEvents } from '../../adapters/memory/memory-task-events.js';
import { MemoryTaskStore } from '../../adapters/memory/memory-task-store.js';
import { MemoryWorkerRegistry } from '../../adapters/memory/memory-worker-registry.js';
import { RabbitMqTaskQueue } from '../../adapters/rabbitmq/rabbitmq-task-queue.js';
import type { RedisConnectionOptions } from '../../adapters/redis/connection.js';
import { RedisBatchStore } from '../../adapters/redis/redis-batch-store.js';
import { RedisFileStore } from '../../adapters/redis/redis-file-store.js';
import { RedisRateLimiter } from '../../adapters/redis/redis-rate-limiter.js';
import { RedisTaskEvents } from '../../adapters/redis/redis-task-events.js';
import { RedisTaskStore } from '../../adapters/redis/redis-task-store.js';
import { RedisWorkerRegistry } from '../../adapters/redis/redis-worker-registry.js';
import type { AppConfig, ServiceConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { lazy, provide, type Token } from '../tokens.js';

/** The queue the configuration names: in this process, or RabbitMQ. */
export function queueModule(config: AppConfig): ContainerModule {
  const { queue } = config.service;
  return new ContainerModule(({ bind }) => {
    lazy(bind, TOKENS.LazyTaskQueue, TOKENS.TaskQueue);
    if (queue.driver === 'memory') {
      provide(bind, TOKENS.TaskQueue, {}, () => new MemoryTaskQueue(new MemoryBroker(queue.max_length)));
      return;
    }
    // A model's `queue` in ml_config.yaml names its queue; the others get the adapter's default name. The namespace prefixes both.
    const { namespace } = config.service.deployment;
    const inNamespace = (name: string) => (namespace ? `${namespace}.${name}` : name);
    const queueNames = new Map(config.ml.models.flatMap((m) => (m.queue === undefined ? [] : [[m.id, inNamespace(m.queue)] as const])));
    provide(
      bind,
      TOKENS.TaskQueue,
      { logger: TOKENS.Logger, metrics: TOKENS.Metrics, tracing: TOKENS.Tracing },
      ({ logger, metrics, tracing }) =>
        new RabbitMqTaskQueue({
          url: amqpUrls(config.service),
          queueNames,
          queuePrefix: inNamespace('embeddings.'),
          // How the broker's tools name this deployment's connections, so an operator can tell (and close) them.
          connectionName: namespace ? `embedding-service:${namespace}` : 'embedding-service',
          onMalformed: (model) => metrics.messageDeadLettered(model, 'malformed'),
          maxLength: queue.max_length,
          queueType: queue.type,
          deliveryLimit: queue.delivery_limit,
          publishTimeoutMs: queue.publish_timeout_ms,
          logger: logger.child({ component: 'rabbitmq' }),
          ...(tracing && { tracing: tracing.tracing }),
        }),
    );
  });
}

/**
 * The store, the announcements of finished tasks, the worker registry, the
 * rate limits' counts, files and batches: in this process, or Redis (so every API replica
 * draws on the same allowances).
 */
export function storeModule(config: AppConfig): ContainerModule {
  const { store } = config.service;
  // A batch is kept as long as the files it wrote.
  const batchRetentionMs = config.service.files.ttl_seconds * 1000;
  return new ContainerModule(({ bind }) => {
    if (store.driver === 'memory') {
      provide(bind, TOKENS.TaskStore, {}, () => new MemoryTaskStore({ ttlSeconds: store.ttl_seconds, maxTasks: store.max_tasks }));
      provide(bind, TOKENS.TaskEvents, {}, () => new MemoryTaskEvents());
      provide(bind, TOKENS.WorkerRegistry, {}, () => new MemoryWorkerRegistry());
      provide(bind, TOKENS.RateLimiter, {}, () => new MemoryRateLimiter());
      // In memory the tasks die with the process; files are worth keeping across restarts, on disk.
      provide(bind, TOKENS.FileStore, {}, () => new FilesystemFileStore(config.service.files.dir));
      provide(bind, TOKENS.BatchStore, {}, () => new MemoryBatchStore(batchRetentionMs));
      return;
    }
    const connection = redisConnection(config);
    const withBudget = <T>(target: Token<T>, make: (options: typeof connection) => T) =>
      provide(bind, target, { budget: TOKENS.StoreBudget }, ({ budget }) => make({ ...connection, budget }));
    provide(bind, TOKENS.TaskStore, { budget: TOKENS.StoreBudget, tracing: TOKENS.Tracing }, ({ budget, tracing }) =>
      new RedisTaskStore({
        ...connection,
        budget,
        ttlSeconds: store.ttl_seconds,
        waitReplicas: config.service.redis.wait_replicas,
        ...(tracing && { tracing: tracing.tracing }),
      }),
    );
    withBudget(TOKENS.TaskEvents, (options) => new RedisTaskEvents(options));
    withBudget(TOKENS.WorkerRegistry, (options) => new RedisWorkerRegistry(options));
    withBudget(TOKENS.RateLimiter, (options) => new RedisRateLimiter(options));
    withBudget(TOKENS.FileStore, (options) => new RedisFileStore(options));
    withBudget(TOKENS.BatchStore, (options) => new RedisBatchStore({ ...options, retentionMs: batchRetentionMs }));
  });
}

/** Where Redis is, the deployment's key prefix, and the command timeout, as every Redis adapter takes them. */
export function redisConnection(config: AppConfig): RedisConnectionOptions & { keyPrefix: string } {
  const { redis } = config.service;
  return {
    ...(redis.sentinels.length > 0
      ? {
          // Under Sentinel: the sentinels say where the primary is; its password and db are the data nodes'.
          sentinel: { sentinels: redis.sentinels.map(hostAndPort), name: redis.sentinel_name, ...(redis.sentinel_password && { password: redis.sentinel_password }) },
          password: redis.password,
          db: redis.db,
          tls: redis.tls,
        }
      : redis.url
        ? { url: redis.url }
        : { host: redis.host, port: redis.port, password: redis.password, db: redis.db, tls: redis.tls }),
    keyPrefix: redisKeyPrefix(config.service),
    commandTimeoutMs: redis.command_timeout_ms,
  };
}

/**
 * Every Redis key's prefix: the deployment's namespace, then `redis.key_prefix`.
 * A key prefix that already starts with the namespace (both set to say the
 * same thing) is taken as it is, not prefixed twice.
 */
export function redisKeyPrefix(config: ServiceConfig): string {
  const { namespace } = config.deployment;
  const { key_prefix: keyPrefix } = config.redis;
  if (!namespace || keyPrefix.startsWith(`${namespace}:`)) return keyPrefix;
  return `${namespace}:${keyPrefix}`;
}

/** The broker's URLs: those `rabbitmq.url` (AMQP_URL) lists when set, else one built from its parts. */
export function amqpUrls(config: ServiceConfig): string[] {
  const r = config.rabbitmq;
  // Several, comma-separated: the nodes of a cluster, tried in turn.
  if (r.url) return r.url.split(',').map((url) => url.trim()).filter((url) => url !== '');
  const vhost = r.vhost === '/' ? '' : `/${encodeURIComponent(r.vhost)}`;
  return [`amqp://${encodeURIComponent(r.user)}:${encodeURIComponent(r.password)}@${r.host}:${r.port}${vhost}`];
}

function hostAndPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
