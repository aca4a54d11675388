import { failureOf, failTask, NoLiveWorkerError, succeedTask, TaskTimeoutError, toMessage, type Allowance, type EmbeddingRequest, type EmbeddingResult, type Task } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { TaskCaller } from '../../ports/task-caller.js';
import type { LiveWorkers } from '../models/live-workers.js';
import type { SubmitTask } from './submit-task.js';

export interface SyncTaskOptions {
  /** How long a caller is held before `TaskTimeoutError`; also the call's deadline. */
  readonly timeoutMs: number;
  /** What a caller is told to wait when no worker serves the model: about one heartbeat, by when one may have reported in. */
  readonly noWorkerRetryAfterSeconds: number;
}

export interface SyncTaskOutcome {
  /** The work as a task that succeeded (its id, model and times), though no record of it is kept. */
  readonly task: Task;
  readonly result: EmbeddingResult;
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}

/**
 * The synchronous routes' path (OpenAI's `POST /v1/embeddings`, the rerank
 * and compatible routes): a call through the model's queue to a worker,
 * whose answer comes straight back to this process (`TaskCaller`). Nothing
 * is recorded in the task store: a request that waits for its answer needs
 * no record to be read later, and the store's round trips were most of what
 * the distributed path added to a lone request.
 *
 * It passes what a task passes (the caller's allowance, the queue's
 * admission) and is counted as submitted. The call carries a deadline (the
 * timeout), so a worker that reaches it later skips it; a caller that
 * times out gets `TaskTimeoutError`, one that goes away (`signal`) stops
 * waiting at once. A model that no live worker serves is refused straight
 * away (`NoLiveWorkerError`) rather than waited on for nothing.
 */
export class SyncTasks {
  constructor(
    private readonly submit: Pick<SubmitTask, 'admit' | 'queued' | 'newTask'>,
    private readonly caller: TaskCaller,
    private readonly live: LiveWorkers,
    private readonly clock: Clock,
    private readonly ids: IdGenerator,
    private readonly options: SyncTaskOptions,
  ) {}

  /** Runs `request` on `modelId`, a model its caller has checked the request against, and holds the caller until a worker answers. */
  async run(request: EmbeddingRequest, modelId: string, signal?: AbortSignal): Promise<SyncTaskOutcome> {
    if ((await this.live.count(modelId)) === 0) throw new NoLiveWorkerError(modelId, this.options.noWorkerRetryAfterSeconds);
    const now = this.clock.now();
    const command = { ...request, deadline: new Date(now.getTime() + this.options.timeoutMs) };
    const tokens = await this.submit.admit(command, modelId);
    const task = this.submit.newTask(command, modelId, this.ids.next(), now);
    // A timer of its own, cleared with the answer: AbortSignal.timeout's would outlive every answered call by the timeout.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.options.timeoutMs);
    const waiting = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    const answer = this.caller.call(toMessage(task), waiting);
    // Counted as it is sent, as the depth admission reads must be; a call the queue refuses (a 503, counted apart) is counted too.
    this.submit.queued(modelId);
    try {
      const answered = await answer;
      if (!answered.ok) throw failureOf(failTask(task, answered.failure, this.clock.now()));
      const started = { ...task, status: 'running' as const, startedAt: answered.startedAt, attempts: 1 };
      return { task: succeedTask(started, answered.result, answered.finishedAt), result: answered.result, tokens };
    } catch (error) {
      if (waiting.aborted && error === waiting.reason) throw new TaskTimeoutError(task.id, this.options.timeoutMs / 1000);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
