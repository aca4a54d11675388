import type { ModelKind } from '../domain/index.js';
import type { CacheModelStats } from './embedding-cache.js';
import type { QueueStats } from './task-queue.js';
import type { WorkerBeat } from './worker-registry.js';

/*
 * What the operator console shows: read models the application builds from
 * the queue, the store and the workers' heartbeats, and the HTTP adapter
 * serves.
 */

/** One model as the operator sees it: its queue, its workers' work, and the pace of both. */
export interface ModelOverview {
  readonly id: string;
  /** What its tasks are: texts to embed, or documents to rerank against a query. */
  readonly kind: ModelKind;
  /** Undefined when the queue could not be read. */
  readonly queue: QueueStats | undefined;
  readonly workers: number;
  readonly inFlight: number;
  /** Since the live workers started. */
  readonly done: number;
  readonly failed: number;
  /** Per second, over the last half minute. */
  readonly submittedPerSecond: number | undefined;
  readonly donePerSecond: number | undefined;
  readonly failedPerSecond: number | undefined;
  /** The live workers' figures; the slowest worker's where they differ. */
  readonly waitP50Ms: number | undefined;
  readonly waitP95Ms: number | undefined;
  readonly inferenceP50Ms: number | undefined;
  readonly inferenceP95Ms: number | undefined;
  readonly meanBatchSize: number | undefined;
  /** How long the oldest of the latest queued tasks has waited. */
  readonly oldestWaitingSeconds: number | undefined;
  /** Its share of the embedding cache; undefined without one (or for a reranker). */
  readonly cache: Omit<CacheModelStats, 'model'> | undefined;
}

export interface WorkerOverview extends WorkerBeat {
  readonly uptimeSeconds: number;
  /** Seconds since its last heartbeat. */
  readonly beatAgeSeconds: number | undefined;
}

export interface ConsoleSnapshot {
  readonly at: Date;
  readonly models: readonly ModelOverview[];
  readonly workers: readonly WorkerOverview[];
}

/** One point of the charts: per model, tasks done a second and queue depth. */
export interface HistoryPoint {
  readonly at: number;
  readonly models: Readonly<Record<string, { readonly donePerSecond: number | undefined; readonly ready: number | undefined }>>;
}
