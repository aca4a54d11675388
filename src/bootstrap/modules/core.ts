import { ContainerModule } from 'inversify';
import { ElasticsearchLogStream } from '../../adapters/elasticsearch/elasticsearch-log-stream.js';
import { MemoryKeyRing } from '../../adapters/memory/memory-key-ring.js';
import { createPinoLogger } from '../../adapters/pino/pino-logger.js';
import { PrometheusMetrics } from '../../adapters/prometheus/prometheus-metrics.js';
import { AsyncLocalStoreBudget } from '../../adapters/system/async-local-store-budget.js';
import { systemClock, uuidGenerator } from '../../adapters/system/system-clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { constant, provide, token } from '../tokens.js';

/** One registry serves both as the service's Metrics and as what /metrics renders. */
const Prometheus = token<PrometheusMetrics>('Prometheus');

export interface CoreOverrides {
  /** Replaces the configured logger (tests read the lines back). */
  readonly logger?: Logger;
  /** Replaces Prometheus (tests count in memory); then there is no /metrics. */
  readonly metrics?: Metrics;
}

/**
 * Configuration, logs, metrics, time and ids. Logs are JSON lines on stdout
 * and, with LOGGER_HANDLER=elasticsearch, also shipped to Elasticsearch,
 * whose drops are counted in the metrics. Metrics are Prometheus's, reading
 * each served model's queue depth when scraped.
 */
export function coreModule(config: AppConfig, queueDepthModels: readonly string[], overrides: CoreOverrides = {}): ContainerModule {
  const { logging, elasticsearch, limits } = config.service;
  return new ContainerModule(({ bind }) => {
    constant(bind, TOKENS.Config, config);
    constant(bind, TOKENS.Clock, systemClock);
    constant(bind, TOKENS.Ids, uuidGenerator);
    constant(bind, TOKENS.Limits, { maxInputs: limits.max_inputs, maxInputChars: limits.max_input_chars });
    constant(bind, TOKENS.KeyRing, new MemoryKeyRing(config.keys));
    constant(bind, TOKENS.StoreBudget, new AsyncLocalStoreBudget());

    if (overrides.metrics) {
      constant(bind, TOKENS.Metrics, overrides.metrics);
      constant(bind, TOKENS.MetricsExposition, undefined);
    } else {
      provide(
        bind,
        Prometheus,
        { queue: TOKENS.LazyTaskQueue, cache: TOKENS.EmbeddingCache },
        ({ queue, cache }) =>
          new PrometheusMetrics({
            queueDepth: { models: queueDepthModels, read: (model) => queue().depth(model) },
            ...(cache && { cacheBytes: async () => new Map((await cache.stats()).map((s) => [s.model, s.bytes])) }),
          }),
      );
      provide(bind, TOKENS.Metrics, { prometheus: Prometheus }, ({ prometheus }) => prometheus);
      provide(bind, TOKENS.MetricsExposition, { prometheus: Prometheus }, ({ prometheus }) => prometheus);
    }

    if (overrides.logger) {
      constant(bind, TOKENS.Logger, overrides.logger);
      constant(bind, TOKENS.LogShipper, undefined);
      return;
    }
    provide(bind, TOKENS.LogShipper, { metrics: TOKENS.Metrics }, ({ metrics }) =>
      logging.handler === 'elasticsearch'
        ? new ElasticsearchLogStream({
            node: `${elasticsearch.scheme}://${elasticsearch.host}:${elasticsearch.port}`,
            dataStream: elasticsearch.data_stream,
            batchSize: elasticsearch.batch_size,
            flushIntervalMs: elasticsearch.flush_interval_ms,
            maxBuffered: elasticsearch.max_buffered,
            onDropped: (count) => metrics.logsDropped(count),
          })
        : undefined,
    );
    provide(bind, TOKENS.Logger, { shipper: TOKENS.LogShipper }, ({ shipper }) =>
      createPinoLogger({ level: logging.level, name: 'embedding-service', ...(shipper && { alsoTo: shipper }) }),
    );
  });
}
