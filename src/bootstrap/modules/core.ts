import { ContainerModule } from 'inversify';
import { ElasticsearchLogStream } from '../../adapters/elasticsearch/elasticsearch-log-stream.js';
import { MemoryKeyRing } from '../../adapters/memory/memory-key-ring.js';
import { createPinoLogger } from '../../adapters/pino/pino-logger.js';
import { TracingRuntime } from '../../adapters/opentelemetry/tracing-runtime.js';
import { PrometheusMetrics } from '../../adapters/prometheus/prometheus-metrics.js';
import { AsyncLocalStoreBudget } from '../../adapters/system/async-local-store-budget.js';
import { systemClock, uuidGenerator } from '../../adapters/system/system-clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { SERVICE_VERSION } from '../version.js';
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
  const { logging, elasticsearch, limits, tracing } = config.service;
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

    const tracesUrl = tracesUrlOf(tracing);
    provide(bind, TOKENS.Tracing, { metrics: TOKENS.Metrics, logger: TOKENS.Logger }, ({ metrics, logger }) =>
      tracesUrl
        ? new TracingRuntime({
            url: tracesUrl,
            protocol: tracing.traces_protocol || tracing.protocol,
            service: { name: 'embedding-service', version: SERVICE_VERSION, mode: config.service.mode },
            onDropped: (count) => metrics.telemetryDropped('spans', count),
            logger,
          })
        : undefined,
    );

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
            onDropped: (count) => metrics.telemetryDropped('logs', count),
          })
        : undefined,
    );
    provide(bind, TOKENS.Logger, { shipper: TOKENS.LogShipper }, ({ shipper }) =>
      createPinoLogger({ level: logging.level, name: 'embedding-service', traceIds: tracesUrl !== undefined, ...(shipper && { alsoTo: shipper }) }),
    );
  });
}

/**
 * Where spans go, as OpenTelemetry's exporters say: the traces endpoint as
 * given, or `/v1/traces` under the base endpoint; none, and nothing traces.
 */
function tracesUrlOf(tracing: AppConfig['service']['tracing']): string | undefined {
  if (tracing.traces_endpoint) return tracing.traces_endpoint;
  if (tracing.endpoint) return `${tracing.endpoint.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}
