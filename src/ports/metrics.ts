import type { FinalBatchStatus, FilePurpose, FinalTaskStatus } from '../domain/index.js';

/** How a task ended. */
export type TaskOutcome = FinalTaskStatus;

/** Why a message was dead-lettered: a label with few values, unlike the free-text reason the message carries. */
export const DEAD_LETTER_KINDS = [
  'malformed',
  'no_record',
  'breaks_limits',
  'disagrees_with_record',
  'invalid_input',
  'too_large',
  'attempts_exhausted',
  'inference_failed',
] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

/** A transition a worker asked of a task that had already ended, and that the store refused. */
export const REFUSED_TRANSITIONS = ['start', 'complete', 'fail'] as const;
export type RefusedTransition = (typeof REFUSED_TRANSITIONS)[number];

/**
 * The service's measurements, named by what happened rather than by metric
 * type. Recording never throws and does no I/O on the caller's path; an
 * adapter that fails drops the observation, never the request.
 */
export interface Metrics {
  /** `route` is the matched pattern (`/v1/embeddings/tasks/:id`), never the raw path. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  taskSubmitted(model: string): void;
  taskCompleted(model: string, outcome: TaskOutcome, seconds: number): void;
  /** Time between enqueue and a worker starting the task. */
  taskWaited(model: string, seconds: number): void;
  /** A worker took (+1) or let go of (-1) a task. */
  taskInFlight(model: string, delta: 1 | -1): void;
  /** One inference: texts in the batch, real tokens in it, and how long it ran. */
  inference(model: string, batchSize: number, tokens: number, seconds: number): void;
  modelLoaded(model: string, seconds: number): void;
  /** A message moved to its model's dead-letter queue, and why. */
  messageDeadLettered(model: string, kind: DeadLetterKind): void;
  /** A stale message asked to start, complete or fail a task that had ended: refused, and acknowledged. */
  transitionRefused(model: string, transition: RefusedTransition): void;
  /**
   * Telemetry this process could not ship and dropped: log records (which
   * still went to stdout), or trace spans (an exporter that is down or slow).
   */
  telemetryDropped(signal: TelemetrySignal, count: number): void;
  /** A batch reached a final status. */
  batchEnded(status: FinalBatchStatus): void;
  /** This process began (+1) or stopped (-1) running a batch's lines. */
  batchRunning(delta: 1 | -1): void;
  /** Lines of a batch answered: `completed` in the output file, `failed` in the error file. */
  batchLines(outcome: 'completed' | 'failed', count: number): void;
  /** A file was stored: an upload (`batch`) or a batch's output (`batch_output`). */
  fileStored(purpose: FilePurpose, bytes: number): void;
  /** Texts the embedding cache answered, and those it did not, in one lookup. */
  cacheLookups(model: string, hits: number, misses: number): void;
  /** Entries of the model's the embedding cache dropped to make room. */
  cacheEvicted(model: string, count: number): void;
  /** The embedding cache failed or stalled: the request went on without it. */
  cacheFailed(operation: CacheOperation): void;
}

export type TelemetrySignal = 'logs' | 'spans';

export const CACHE_OPERATIONS = ['read', 'write'] as const;
export type CacheOperation = (typeof CACHE_OPERATIONS)[number];

/**
 * Metrics that a scraper pulls: the adapters that have an exposition format
 * offer this beside `Metrics`, and the HTTP adapter serves it at /metrics.
 */
export interface MetricsExposition {
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}
