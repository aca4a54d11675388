import { ValidationError, type Embeddings, type Lane, type TokenizedText } from '../../domain/index.js';
import type { SpanReference } from '../../ports/tracing.js';
import type { BatchInference, BatchingOptions, BatchReport, JobOrigin } from './batching.js';

export type { BatchInference, BatchingOptions, BatchReport, JobOrigin };

interface Job {
  readonly tokens: readonly TokenizedText[];
  readonly lane: Lane;
  readonly priority: number;
  /** The span of the request it serves, which its inferences link to. */
  readonly span: SpanReference | undefined;
  readonly vectors: (Float32Array | undefined)[];
  /** Index of the first text not yet taken into a batch. */
  next: number;
  remaining: number;
  failed: boolean;
  resolve(embeddings: Embeddings): void;
  reject(error: unknown): void;
}

interface Unit {
  readonly job: Job;
  readonly index: number;
  readonly tokens: TokenizedText;
}

/** Texts gathered per round before they are sorted by length and cut into batches. */
const ROUND_BATCHES = 4;

/**
 * A batch takes no text more than this many times as long as its shortest:
 * past it, padding the short ones to the long one's length costs more than
 * the extra inference. Measured with 3 short texts (about 14 tokens) to 1
 * long one (about 160) at 64 clients: sorted batches cut by size alone
 * padded half of each mixed batch's short texts to 160 tokens.
 */
const MAX_LENGTH_SPREAD = 2;
/** Tokens of spread always allowed: among short texts, padding costs less than another run. */
const LENGTH_SLACK = 8;
/** How long after the last interactive request bulk batches stay small. */
const INTERACTIVE_QUIET_MS = 2_000;

/**
 * Merges the texts of many tasks for one model into few inferences.
 *
 * Each task's texts come tokenized (once, on arrival: texts by an embedding
 * model, query and document pairs by a reranker). When the model is free,
 * the waiting texts (up to a few batches' worth, oldest tasks first) are
 * sorted by length, so that texts of similar length share a batch and little
 * is padded, and cut into batches bounded by `maxBatchSize` texts and
 * `maxBatchTokens` padded tokens. A large task is spread over several
 * batches and reassembled in order. While the model runs, new tasks wait for
 * the next round, so batches grow with load by themselves; an idle model
 * waits `lingerMs` for company before running a lone task.
 *
 * A task's priority orders the tasks a worker holds: whichever queue it
 * came from, a higher priority's texts go into the next round first.
 *
 * Bulk tasks (a batch's lines) only run when no interactive text waits,
 * one batch at a time: an interactive request that arrives meanwhile waits
 * for at most the one bulk inference under way, never for a round of them.
 * While interactive requests keep coming, bulk batches are kept small
 * (`maxBulkBatchSize`), so that wait is short; once they stop, bulk batches
 * grow to the full size again.
 *
 * If a batch that mixes tasks fails, each of its tasks is run alone, so one
 * bad input fails only its own task.
 */
export class DynamicBatcher {
  private readonly jobs: Job[] = [];
  private running = false;
  private scheduled = false;
  private lastInteractiveAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly infer: BatchInference,
    private readonly options: BatchingOptions,
    private readonly onBatch: (report: BatchReport) => void = () => undefined,
  ) {}

  /**
   * One row per tokenized text, in order. Rejects with `ValidationError`,
   * before anything is queued, when there is nothing to run. The origin's
   * span is handed to each inference that runs its texts; its priority puts
   * its texts ahead of lower priorities' in the next round.
   */
  async run(tokens: readonly TokenizedText[], origin: JobOrigin = {}): Promise<Embeddings> {
    if (tokens.length === 0) throw new ValidationError('No texts to run the model on.');
    const lane = origin.lane ?? 'interactive';
    if (lane === 'interactive') this.lastInteractiveAt = performance.now();
    return new Promise<Embeddings>((resolve, reject) => {
      this.jobs.push({
        tokens,
        lane,
        priority: origin.priority ?? 0,
        span: origin.span,
        vectors: new Array(tokens.length),
        next: 0,
        remaining: tokens.length,
        failed: false,
        resolve,
        reject,
      });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      void this.drain();
    };
    const waiting = this.jobs.reduce((n, job) => n + job.tokens.length - job.next, 0);
    // setImmediate still gathers what arrived in the same turn of the event loop; a timer costs a millisecond at least.
    if (waiting >= this.options.maxBatchSize || this.options.lingerMs === 0) setImmediate(start);
    else setTimeout(start, this.options.lingerMs);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.jobs.length > 0) {
        for (const batch of this.nextRound()) await this.execute(batch);
        this.forgetAnswered();
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Takes up to a few batches' worth of waiting interactive texts (higher
   * priorities first, then oldest first), or when there are none, one
   * batch's worth of bulk texts, and cuts them into batches.
   */
  private nextRound(): Unit[][] {
    // A stable sort: within a priority, the oldest task first.
    const waiting = (lane: Lane) =>
      this.jobs.filter((j) => j.lane === lane && j.next < j.tokens.length && !j.failed).sort((a, b) => b.priority - a.priority);
    const interactive = waiting('interactive');
    const jobs = interactive.length > 0 ? interactive : waiting('bulk');
    if (!this.options.mergeTasks) {
      const job = jobs[0];
      if (!job) return [];
      const units = job.tokens.map((tokens, index) => ({ job, index, tokens }));
      job.next = job.tokens.length;
      return [units];
    }
    const quiet = performance.now() - this.lastInteractiveAt > INTERACTIVE_QUIET_MS;
    const limit = interactive.length > 0 ? this.options.maxBatchSize * ROUND_BATCHES : quiet ? this.options.maxBatchSize : this.options.maxBulkBatchSize;
    const pool: Unit[] = [];
    for (const job of jobs) {
      while (job.next < job.tokens.length && pool.length < limit) {
        pool.push({ job, index: job.next, tokens: job.tokens[job.next]! });
        job.next++;
      }
      if (pool.length >= limit) break;
    }
    pool.sort((a, b) => a.tokens.ids.length - b.tokens.ids.length);

    const batches: Unit[][] = [];
    let batch: Unit[] = [];
    for (const unit of pool) {
      // Sorted ascending, so this unit is the longest of the batch it joins, and batch[0] its shortest.
      const length = unit.tokens.ids.length;
      const padded = (batch.length + 1) * length;
      const full = batch.length >= this.options.maxBatchSize || padded > this.options.maxBatchTokens;
      const spread = batch.length > 0 && length > MAX_LENGTH_SPREAD * batch[0]!.tokens.ids.length + LENGTH_SLACK;
      if (batch.length > 0 && (full || spread)) {
        batches.push(batch);
        batch = [];
      }
      batch.push(unit);
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  private async execute(batch: Unit[]): Promise<void> {
    const live = batch.filter((u) => !u.job.failed);
    if (live.length === 0) return;
    const started = performance.now();
    try {
      const requests = new Map(live.flatMap(({ job }) => (job.span ? [[job.span.spanId, job.span] as const] : [])));
      const vectors = await this.infer(live.map((u) => u.tokens), [...requests.values()]);
      this.onBatch({
        texts: live.length,
        tasks: new Set(live.map((u) => u.job)).size,
        tokens: live.reduce((n, u) => n + u.tokens.ids.length, 0),
        seconds: (performance.now() - started) / 1000,
      });
      live.forEach((unit, i) => this.deliver(unit, vectors[i]!));
    } catch (error) {
      const jobs = [...new Set(live.map((u) => u.job))];
      if (jobs.length === 1) {
        this.fail(jobs[0]!, error);
        return;
      }
      for (const job of jobs) await this.execute(live.filter((u) => u.job === job));
    }
  }

  private deliver(unit: Unit, vector: Float32Array): void {
    const job = unit.job;
    job.vectors[unit.index] = vector;
    job.remaining--;
    if (job.remaining === 0) {
      job.resolve({ vectors: job.vectors as Float32Array[], tokenCounts: job.tokens.map((t) => t.ids.length) });
    }
  }

  private fail(job: Job, error: unknown): void {
    if (job.failed) return;
    job.failed = true;
    job.reject(error);
  }

  private forgetAnswered(): void {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const job = this.jobs[i]!;
      if (job.failed || job.remaining === 0) this.jobs.splice(i, 1);
    }
  }
}
