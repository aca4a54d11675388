import type { FinalBatchStatus, FilePurpose } from '../../domain/index.js';
import type { CacheOperation, DeadLetterKind, Metrics, RefusedTransition, TaskOutcome, TelemetrySignal } from '../../ports/metrics.js';

interface Summary {
  count: number;
  sum: number;
}

/**
 * Counts and sums kept in this process, for the embedded mode and for tests
 * that check what was recorded. Keys are `name{label=value,...}`.
 */
export class MemoryMetrics implements Metrics {
  private readonly counters = new Map<string, number>();
  private readonly summaries = new Map<string, Summary>();

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    this.observe(`http_request_seconds{method=${method},route=${route},status=${status}}`, seconds);
  }

  taskSubmitted(model: string): void {
    this.count(`tasks_submitted{model=${model}}`);
  }

  taskCompleted(model: string, outcome: TaskOutcome, seconds: number): void {
    this.observe(`task_seconds{model=${model},outcome=${outcome}}`, seconds);
  }

  taskWaited(model: string, seconds: number): void {
    this.observe(`task_wait_seconds{model=${model}}`, seconds);
  }

  inference(model: string, batchSize: number, tokens: number, seconds: number): void {
    this.observe(`inference_seconds{model=${model}}`, seconds);
    this.observe(`inference_batch_size{model=${model}}`, batchSize);
    this.count(`tokens{model=${model}}`, tokens);
  }

  modelLoaded(model: string, seconds: number): void {
    this.observe(`model_load_seconds{model=${model}}`, seconds);
  }

  taskInFlight(model: string, delta: 1 | -1): void {
    this.count(`tasks_in_flight{model=${model}}`, delta);
  }

  messageDeadLettered(model: string, kind: DeadLetterKind): void {
    this.count(`messages_dead_lettered{model=${model},kind=${kind}}`);
  }
  transitionRefused(model: string, transition: RefusedTransition): void {
    this.count(`task_transitions_refused_total{model=${model},transition=${transition}}`);
  }


  cacheLookups(model: string, hits: number, misses: number): void {
    this.count(`cache_hits{model=${model}}`, hits);
    this.count(`cache_misses{model=${model}}`, misses);
  }

  cacheEvicted(model: string, count: number): void {
    this.count(`cache_evictions{model=${model}}`, count);
  }

  cacheFailed(operation: CacheOperation): void {
    this.count(`cache_errors{operation=${operation}}`);
  }

  telemetryDropped(signal: TelemetrySignal, count: number): void {
    this.count(`${signal}_dropped`, count);
  }

  batchEnded(status: FinalBatchStatus): void {
    this.count(`batches{status=${status}}`);
  }

  batchRunning(delta: 1 | -1): void {
    this.count('batches_running', delta);
  }

  batchLines(outcome: 'completed' | 'failed', count: number): void {
    this.count(`batch_lines{outcome=${outcome}}`, count);
  }

  fileStored(purpose: FilePurpose, bytes: number): void {
    this.count(`file_bytes{purpose=${purpose}}`, bytes);
  }

  counter(key: string): number {
    return this.counters.get(key) ?? 0;
  }

  summary(key: string): Readonly<Summary> {
    return this.summaries.get(key) ?? { count: 0, sum: 0 };
  }

  private count(key: string, by = 1): void {
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  private observe(key: string, value: number): void {
    const summary = this.summaries.get(key) ?? { count: 0, sum: 0 };
    summary.count++;
    summary.sum += value;
    this.summaries.set(key, summary);
  }
}
