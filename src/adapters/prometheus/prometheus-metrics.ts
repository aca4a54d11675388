import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { zeroed } from './zeroed-series.js';
import { FINAL_BATCH_STATUS_LIST, FILE_PURPOSES, FINAL_TASK_STATUSES, type FinalBatchStatus, type FilePurpose } from '../../domain/index.js';
import { CACHE_OPERATIONS, DEAD_LETTER_KINDS, REFUSED_TRANSITIONS, type CacheOperation, type DeadLetterKind, type Metrics, type MetricsExposition, type RefusedTransition, type TaskOutcome, type TelemetrySignal } from '../../ports/metrics.js';

/** Every metric name starts with this, so dashboards and alerts can find the service's series. */
export const METRIC_PREFIX = 'embedding_';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const TOKEN_BUCKETS = [16, 64, 256, 1024, 4096, 16384, 65536];

export interface PrometheusMetricsOptions {
  /** Labels on every series (e.g. the process's role). */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The models whose queue depth `embedding_queue_depth` reports, and how to
   * read it. Read when scraped: a broker round trip per model, off every
   * request's path. A depth that cannot be read is reported as NaN.
   */
  readonly queueDepth?: { readonly models: readonly string[]; read(model: string): Promise<number> };
  /** The bytes the embedding cache holds by model, read when scraped; absent without a cache. */
  readonly cacheBytes?: () => Promise<ReadonlyMap<string, number>>;
}

/**
 * `Metrics` as Prometheus series (prom-client), with Node's process and
 * runtime metrics beside them. Each process has its own registry; `/metrics`
 * renders it. Observations are in-memory increments: nothing here does I/O
 * or throws on a request's path.
 */
export class PrometheusMetrics implements Metrics, MetricsExposition {
  readonly registry = new Registry();
  private readonly httpRequests: Counter;
  private readonly httpDuration: Histogram;
  private readonly submitted: Counter;
  private readonly completed: Counter;
  private readonly taskDuration: Histogram;
  private readonly queueWait: Histogram;
  private readonly inFlight: Gauge;
  private readonly inferenceDuration: Histogram;
  private readonly batchSize: Histogram;
  private readonly batchTokens: Histogram;
  private readonly tokens: Counter;
  private readonly modelLoad: Gauge;
  private readonly dropped: Readonly<Record<TelemetrySignal, Counter>>;
  private readonly deadLettered: Counter;
  private readonly refusedTransitions: Counter;
  private readonly batches: Counter;
  private readonly batchesRunning: Gauge;
  private readonly batchLineCount: Counter;
  private readonly fileBytes: Counter;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly cacheEvictions: Counter;
  private readonly cacheErrors: Counter;

  constructor(options: PrometheusMetricsOptions = {}) {
    this.registry.setDefaultLabels(options.labels ?? {});
    collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    const registers = [this.registry];
    const name = (n: string) => `${METRIC_PREFIX}${n}`;

    this.httpRequests = new Counter({ name: name('http_requests_total'), help: 'HTTP requests answered', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({ name: name('http_request_duration_seconds'), help: 'Time to answer an HTTP request', labelNames: ['method', 'route'], buckets: LATENCY_BUCKETS, registers });
    this.submitted = new Counter({ name: name('tasks_submitted_total'), help: 'Tasks accepted and queued', labelNames: ['model'], registers });
    this.completed = new Counter({ name: name('tasks_completed_total'), help: 'Tasks finished, by outcome', labelNames: ['model', 'outcome'], registers });
    this.taskDuration = new Histogram({ name: name('task_duration_seconds'), help: 'From enqueue to finish, end to end', labelNames: ['model', 'outcome'], buckets: LATENCY_BUCKETS, registers });
    this.queueWait = new Histogram({ name: name('task_queue_wait_seconds'), help: 'From enqueue to a worker starting the task', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    this.inFlight = new Gauge({ name: name('tasks_in_flight'), help: 'Tasks a worker holds right now', labelNames: ['model'], registers });
    this.inferenceDuration = new Histogram({ name: name('inference_duration_seconds'), help: 'Time of one inference (one batch)', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers });
    this.batchSize = new Histogram({ name: name('inference_batch_size'), help: 'Texts per inference', labelNames: ['model'], buckets: SIZE_BUCKETS, registers });
    this.batchTokens = new Histogram({ name: name('inference_batch_tokens'), help: 'Tokens per inference (not counting padding)', labelNames: ['model'], buckets: TOKEN_BUCKETS, registers });
    this.tokens = new Counter({ name: name('tokens_processed_total'), help: 'Tokens embedded', labelNames: ['model'], registers });
    this.modelLoad = new Gauge({ name: name('model_load_seconds'), help: 'How long the model took to load', labelNames: ['model'], registers });
    this.deadLettered = new Counter({ name: name('messages_dead_lettered_total'), help: 'Messages moved to a dead-letter queue, by why', labelNames: ['model', 'kind'], registers });
    this.refusedTransitions = new Counter({ name: name('task_transitions_refused_total'), help: 'Stale messages that asked to start, complete or fail a task that had ended', labelNames: ['model', 'transition'], registers });
    this.dropped = {
      logs: new Counter({ name: name('log_records_dropped_total'), help: 'Log records not shipped to Elasticsearch (they still went to stdout)', registers }),
      spans: new Counter({ name: name('trace_spans_dropped_total'), help: 'Trace spans not exported (the OTLP endpoint failed or could not keep up)', registers }),
    };
    this.batches = new Counter({ name: name('batches_total'), help: 'Batches ended, by final status', labelNames: ['status'], registers });
    this.batchesRunning = new Gauge({ name: name('batches_running'), help: 'Batches whose lines this process is dispatching', registers });
    this.batchLineCount = new Counter({ name: name('batch_lines_total'), help: 'Batch lines answered, by outcome (output or error file)', labelNames: ['outcome'], registers });
    this.fileBytes = new Counter({ name: name('file_bytes_stored_total'), help: 'Bytes of files stored, uploads and batch outputs', labelNames: ['purpose'], registers });
    this.cacheHits = new Counter({ name: name('cache_hits_total'), help: 'Texts the embedding cache answered', labelNames: ['model'], registers });
    this.cacheMisses = new Counter({ name: name('cache_misses_total'), help: 'Texts looked up in the embedding cache and not found', labelNames: ['model'], registers });
    this.cacheEvictions = new Counter({ name: name('cache_evictions_total'), help: 'Embedding cache entries dropped to make room', labelNames: ['model'], registers });
    this.cacheErrors = new Counter({ name: name('cache_errors_total'), help: 'Embedding cache reads and writes that failed or timed out (the request went on without)', labelNames: ['operation'], registers });
    const depth = options.queueDepth;
    const zero = zeroed(depth?.models ?? []);
    const outcome = FINAL_TASK_STATUSES;
    zero.perModel(this.submitted);
    zero.perModel(this.completed, { outcome });
    zero.perModel(this.taskDuration, { outcome });
    zero.perModel(this.queueWait);
    zero.perModel(this.inFlight);
    zero.perModel(this.inferenceDuration);
    zero.perModel(this.batchSize);
    zero.perModel(this.batchTokens);
    zero.perModel(this.tokens);
    zero.perModel(this.deadLettered, { kind: DEAD_LETTER_KINDS });
    zero.perModel(this.refusedTransitions, { transition: REFUSED_TRANSITIONS });
    zero.counter(this.batches, { status: FINAL_BATCH_STATUS_LIST });
    zero.counter(this.batchLineCount, { outcome: ['completed', 'failed'] });
    zero.counter(this.fileBytes, { purpose: FILE_PURPOSES });
    zero.counter(this.cacheErrors, { operation: CACHE_OPERATIONS });
    if (options.cacheBytes) {
      zero.perModel(this.cacheHits);
      zero.perModel(this.cacheMisses);
      zero.perModel(this.cacheEvictions);
    }
    new Gauge({
      name: name('cache_bytes'),
      help: 'Bytes the embedding cache holds (keys and vectors), by model',
      labelNames: ['model'],
      registers,
      async collect() {
        if (!options.cacheBytes) return;
        const bytes = (await options.cacheBytes().catch(() => undefined)) ?? new Map<string, number>();
        for (const model of new Set([...(depth?.models ?? []), ...bytes.keys()])) this.set({ model }, bytes.get(model) ?? 0);
      },
    });
    new Gauge({
      name: name('queue_depth'),
      help: 'Tasks waiting in a model’s queue',
      labelNames: ['model'],
      registers,
      async collect() {
        if (!depth) return;
        await Promise.all(depth.models.map(async (model) => this.set({ model }, await depth.read(model).catch(() => Number.NaN))));
      },
    });
  }

  cacheLookups(model: string, hits: number, misses: number): void {
    safely(() => (this.cacheHits.inc({ model }, hits), this.cacheMisses.inc({ model }, misses)));
  }

  cacheEvicted(model: string, count: number): void {
    safely(() => this.cacheEvictions.inc({ model }, count));
  }
  cacheFailed(operation: CacheOperation): void {
    safely(() => this.cacheErrors.inc({ operation }));
  }

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    safely(() => {
      this.httpRequests.inc({ method, route, status: String(status) });
      this.httpDuration.observe({ method, route }, seconds);
    });
  }

  taskSubmitted(model: string): void {
    safely(() => this.submitted.inc({ model }));
  }

  taskCompleted(model: string, outcome: TaskOutcome, seconds: number): void {
    safely(() => {
      this.completed.inc({ model, outcome });
      this.taskDuration.observe({ model, outcome }, seconds);
    });
  }

  taskWaited(model: string, seconds: number): void {
    safely(() => this.queueWait.observe({ model }, seconds));
  }

  taskInFlight(model: string, delta: 1 | -1): void {
    safely(() => this.inFlight.inc({ model }, delta));
  }

  inference(model: string, batchSize: number, tokens: number, seconds: number): void {
    safely(() => {
      this.inferenceDuration.observe({ model }, seconds);
      this.batchSize.observe({ model }, batchSize);
      this.batchTokens.observe({ model }, tokens);
      this.tokens.inc({ model }, tokens);
    });
  }

  modelLoaded(model: string, seconds: number): void {
    safely(() => this.modelLoad.set({ model }, seconds));
  }

  messageDeadLettered(model: string, kind: DeadLetterKind): void {
    safely(() => this.deadLettered.inc({ model, kind }));
  }

  transitionRefused(model: string, transition: RefusedTransition): void {
    safely(() => this.refusedTransitions.inc({ model, transition }));
  }

  telemetryDropped(signal: TelemetrySignal, count: number): void {
    safely(() => this.dropped[signal].inc(count));
  }

  batchEnded(status: FinalBatchStatus): void {
    safely(() => this.batches.inc({ status }));
  }

  batchRunning(delta: 1 | -1): void {
    safely(() => this.batchesRunning.inc(delta));
  }

  batchLines(outcome: 'completed' | 'failed', count: number): void {
    safely(() => this.batchLineCount.inc({ outcome }, count));
  }

  fileStored(purpose: FilePurpose, bytes: number): void {
    safely(() => this.fileBytes.inc({ purpose }, bytes));
  }

  /** The text exposition format, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** A metric that cannot be recorded is lost; the request it measures goes on. */
function safely(record: () => void): void {
  try {
    record();
  } catch {
    return;
  }
}
