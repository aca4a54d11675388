import { DEFAULT_PRIORITY, estimateTokens, newTask, OverloadedError, succeedTask, toMessage, type Allowance, type EmbeddingRequest, type EmbeddingResult, type Task } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { QueueInspector } from '../../ports/queue-inspector.js';
import type { TaskPublisher } from '../../ports/task-publisher.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { EnforceRateLimits } from '../access/enforce-rate-limits.js';
import type { LiveWorkers } from '../models/live-workers.js';

export interface AdmissionOptions {
  /**
   * Longest a new task may be expected to wait in its model's queue; beyond
   * it the model answers `OverloadedError`. 0 turns the check off.
   */
  readonly maxQueueWaitMs: number;
}

/** How long a read queue depth stands in for the real one, counting what this process adds meanwhile. */
const DEPTH_MAX_AGE_MS = 250;

export interface Submission {
  readonly task: Task;
  /** Workers serving the model when the task was queued (0: it waits for one); undefined if unknown. */
  readonly liveWorkers: number | undefined;
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}

/**
 * Accepts a task of any kind (texts to embed, documents to rerank) whose
 * request its route has checked: takes its estimated tokens from the
 * caller's allowance, records a queued task, then puts it on its model's
 * queue. When it resolves, the task is durable in both.
 *
 * Admission: a model whose queue already holds more than its workers get
 * through in `maxQueueWaitMs` (by the rate they report) refuses new tasks
 * with `OverloadedError`, early and cheaply, rather than accept work that
 * would wait past any caller's patience. The queue's hard length limit stays
 * as the last resort, for when no rate is known yet.
 */
export class SubmitTask {
  /** Per model: the depth last read, when, and the tasks this process has queued since. */
  private readonly depths = new Map<string, { readonly at: number; readonly depth: number; added: number }>();

  constructor(
    private readonly rateLimits: Pick<EnforceRateLimits, 'admitTokens'>,
    private readonly store: TaskStore,
    /** Publishes, and reads the depth that admission bounds. */
    private readonly queue: TaskPublisher & Pick<QueueInspector, 'depth'>,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly live: LiveWorkers,
    private readonly admission: AdmissionOptions,
  ) {}

  /**
   * `command` as its route's check passed it (the embeddings' `RequestCheck`,
   * the rerank `RerankCheck`), for `modelId`, the model that check found.
   * `taskId`: the id the task gets, when the caller chose it beforehand (a
   * fresh one from the same generator); else a new one.
   */
  async submit(command: EmbeddingRequest, modelId: string, { taskId }: { taskId?: string } = {}): Promise<Submission> {
    const tokens = await this.admit(command, modelId);
    const task = this.newTask(command, modelId, taskId, this.clock.now());
    // Record first, then publish: a worker may finish the task before publish
    // returns, and it must find the record to update.
    await this.store.create(task);
    try {
      await this.queue.publish(toMessage(task));
    } catch (error) {
      // The client gets an error without the id, so nobody will ask for this task: it holds
      // nothing (a refused 9 MB request must not hold 9 MB), and it is ended, so that its message,
      // if the broker took it after all, is dropped when it is delivered rather than run.
      await this.store
        .refuse(task.id, 'Refused at submit: the queue did not confirm it.', this.clock.now())
        .catch((storeError: unknown) => this.logger.warn('could not mark a task that was not queued as refused', { taskId: task.id, err: storeError }));
      throw error;
    }
    this.queued(modelId);
    return { task, liveWorkers: await this.live.count(modelId), tokens };
  }

  /**
   * What every message passes before it is queued, a task's or a call's:
   * its estimated tokens taken from the caller's allowance, and admission
   * (below) by the wait its model's queue promises. Resolves with the
   * caller's allowance after it.
   */
  async admit(command: EmbeddingRequest, modelId: string): Promise<Allowance | undefined> {
    // A reranker reads the query once with every document: each pair's tokens count.
    const estimate = estimateTokens(command.inputs) + (command.rerank ? estimateTokens([command.rerank.query]) * command.inputs.length : 0);
    const tokens = await this.rateLimits.admitTokens(command.caller, estimate);
    const now = this.clock.now();
    await this.admitToQueue(modelId, command.deadline ? command.deadline.getTime() - now.getTime() : Infinity);
    return tokens;
  }

  /** A message this process has put on `modelId`'s queue: counted, and added to the depth admission reads. */
  queued(modelId: string): void {
    const known = this.depths.get(modelId);
    if (known) known.added++;
    this.metrics.taskSubmitted(modelId);
  }

  /**
   * Records a task whose every text the embedding cache answered: succeeded
   * at once with `result`, never queued, so no worker runs it (and it costs
   * the caller's allowance what it would have cost embedded).
   */
  async settle(command: EmbeddingRequest, modelId: string, result: EmbeddingResult, { taskId }: { taskId?: string } = {}): Promise<Submission> {
    const tokens = await this.rateLimits.admitTokens(command.caller, estimateTokens(command.inputs));
    const now = this.clock.now();
    const task = succeedTask(this.newTask(command, modelId, taskId, now), result, now);
    await this.store.create(task);
    return { task, liveWorkers: await this.live.count(modelId), tokens };
  }

  /** A new queued task of `command` on `modelId`: the record a task keeps, or what a call's message is made of. */
  newTask(command: EmbeddingRequest, modelId: string, taskId: string | undefined, now: Date): Task {
    return newTask({
      id: taskId ?? this.ids.next(),
      model: modelId,
      inputs: command.inputs,
      priority: command.priority ?? DEFAULT_PRIORITY,
      now,
      ...(command.requestId !== undefined && { requestId: command.requestId }),
      ...(command.deadline !== undefined && { deadline: command.deadline }),
      ...(command.caller && { owner: command.caller.name }),
      ...(command.rerank && { rerank: command.rerank }),
      ...(command.truncation && { truncation: command.truncation }),
      ...(command.normalize === false && { normalize: command.normalize }),
    });
  }

  /**
   * Refuses a task that would wait longer than the bound (or than its caller's
   * deadline, if sooner): the expected wait is the queue's depth over the rate
   * its workers drain it. The caller is told to come back once the backlog
   * in front of it has drained. Without a known rate there is no estimate,
   * and the task is let in.
   */
  private async admitToQueue(modelId: string, patienceMs: number): Promise<void> {
    if (this.admission.maxQueueWaitMs <= 0) return;
    const boundMs = Math.min(this.admission.maxQueueWaitMs, patienceMs);
    const rate = await this.live.drainRate(modelId);
    if (rate === undefined) return;
    const depth = await this.depth(modelId);
    if (depth === undefined) return;
    const expectedWaitMs = ((depth + 1) / rate) * 1000;
    if (expectedWaitMs <= boundMs) return;
    const drainSeconds = Math.max(1, Math.ceil(depth / rate));
    throw new OverloadedError(
      modelId,
      `Model '${modelId}' is overloaded: ${depth} tasks are queued, about ${drainSeconds} s of work for its workers, ` +
        `past the ${Math.round(boundMs / 1000)} s a new task may wait. Retry after ${drainSeconds} s.`,
      drainSeconds,
    );
  }

  /**
   * The model's queue depth, read from the queue at most every 250 ms (a
   * broker round trip per submission costs every request, and the broker,
   * CPU) plus the tasks this process has queued since: the estimate lags only
   * by what other replicas add meanwhile. Unreadable: undefined, and the
   * publish that follows meets the same fault and answers it.
   */
  private async depth(modelId: string): Promise<number | undefined> {
    const now = this.clock.now().getTime();
    const known = this.depths.get(modelId);
    if (known && now - known.at < DEPTH_MAX_AGE_MS) return known.depth + known.added;
    const depth = await this.queue.depth(modelId).catch(() => undefined);
    if (depth === undefined) this.depths.delete(modelId);
    else this.depths.set(modelId, { at: now, depth, added: 0 });
    return depth;
  }
}
