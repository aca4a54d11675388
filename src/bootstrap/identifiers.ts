import type { Writable } from 'node:stream';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv } from '../adapters/http/types.js';
import type { InputLimits } from '../domain/index.js';
import type { Clock } from '../ports/clock.js';
import type { HealthCheck } from '../ports/health-check.js';
import type { IdGenerator } from '../ports/id-generator.js';
import type { KeyRing } from '../ports/key-ring.js';
import type { Logger } from '../ports/logger.js';
import type { TracingRuntime } from '../adapters/opentelemetry/tracing-runtime.js';
import type { Metrics, MetricsExposition } from '../ports/metrics.js';
import type { ModelCatalog } from '../ports/model-catalog.js';
import type { Tokenizers } from '../ports/tokenizers.js';
import type { EmbeddingCache } from '../ports/embedding-cache.js';
import type { ModelFingerprints } from '../ports/model-fingerprints.js';
import type { ModelLoader } from '../ports/model-loader.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { StoreBudget } from '../ports/store-budget.js';
import type { BatchEvents } from '../ports/batch-events.js';
import type { BatchLines } from '../ports/batch-lines.js';
import type { BatchStore } from '../ports/batch-store.js';
import type { FileStore } from '../ports/file-store.js';
import type { TaskEvents } from '../ports/task-events.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkerRegistry } from '../ports/worker-registry.js';
import type { AppConfig } from './config/schema.js';
import type { Component } from './lifecycle.js';
import { token } from './tokens.js';

/**
 * The ports and values the container builds; the classes it builds (use
 * cases, the worker, …) are their own tokens. Each is a singleton within one
 * container, and a test can build its own.
 */
export const TOKENS = {
  Config: token<AppConfig>('Config'),
  Logger: token<Logger>('Logger'),
  /** OpenTelemetry's SDK, running; undefined while no OTLP endpoint is configured (then nothing traces, and nothing is exported). */
  Tracing: token<TracingRuntime | undefined>('Tracing'),
  /** Ships log lines to Elasticsearch; undefined when logs go to stdout only. */
  LogShipper: token<Writable | undefined>('LogShipper'),
  Metrics: token<Metrics>('Metrics'),
  /** What GET /metrics serves; undefined when the metrics have no exposition (a test's in-memory ones). */
  MetricsExposition: token<MetricsExposition | undefined>('MetricsExposition'),
  Clock: token<Clock>('Clock'),
  Ids: token<IdGenerator>('Ids'),
  Limits: token<InputLimits>('Limits'),
  KeyRing: token<KeyRing>('KeyRing'),
  /** One per process: the HTTP app allots each request its store time, the Redis stores charge it. */
  StoreBudget: token<StoreBudget>('StoreBudget'),

  TaskQueue: token<TaskQueue>('TaskQueue'),
  /** The queue, built on first call: for readers that must not build it before it is started (metrics). */
  LazyTaskQueue: token<() => TaskQueue>('LazyTaskQueue'),
  /** The embedding cache; undefined when it is off. */
  EmbeddingCache: token<EmbeddingCache | undefined>('EmbeddingCache'),
  ModelFingerprints: token<ModelFingerprints>('ModelFingerprints'),
  TaskStore: token<TaskStore>('TaskStore'),
  TaskEvents: token<TaskEvents>('TaskEvents'),
  WorkerRegistry: token<WorkerRegistry>('WorkerRegistry'),
  RateLimiter: token<RateLimiter>('RateLimiter'),
  FileStore: token<FileStore>('FileStore'),
  BatchStore: token<BatchStore>('BatchStore'),
  BatchLines: token<BatchLines>('BatchLines'),
  BatchEvents: token<BatchEvents>('BatchEvents'),
  /** Runs batches in the API's processes, from start to shutdown. */
  BatchRunning: token<Component>('BatchRunning'),

  ModelCatalog: token<ModelCatalog>('ModelCatalog'),
  ModelLoader: token<ModelLoader>('ModelLoader'),
  Tokenizers: token<Tokenizers>('Tokenizers'),
  HealthChecks: token<readonly HealthCheck[]>('HealthChecks'),

  /** The API in modes api and all; the health endpoints alone in mode worker. */
  HttpApp: token<OpenAPIHono<HttpEnv>>('HttpApp'),
  HttpServing: token<Component & { readonly port: number | undefined }>('HttpServing'),

  WorkerRuntime: token<Component & { readonly settled: Promise<void> }>('WorkerRuntime'),
} as const;
