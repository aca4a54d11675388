import { failureOf, isTerminal, NoLiveWorkerError, TaskTimeoutError, type Allowance, type EmbeddingRequest, type EmbeddingResult, type Task } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { LiveWorkers } from '../models/live-workers.js';
import type { GetTaskStatus } from '../embeddings/get-task-status.js';
import type { SubmitTask } from './submit-task.js';

/** How long a new task's watch may take to be ready before the task is queued without it; an established watch channel is ready at once. */
const WATCH_READY_MS = 1_000;

/** Whether `ready` settles within `ms`. */
async function readyWithin(ready: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([ready.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SyncTaskOptions {
  /** How long a caller is held before `TaskTimeoutError`; also the task's deadline. */
  readonly timeoutMs: number;
  /** What a caller is told to wait when no worker serves the model: about one heartbeat, by when one may have reported in. */
  readonly noWorkerRetryAfterSeconds: number;
}

export interface SyncTaskOutcome {
  readonly task: Task;
  readonly result: EmbeddingResult;
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}

/**
 * The synchronous routes' path (OpenAI's `POST /v1/embeddings`, the rerank
 * routes): a task like any other, through the queue and a worker, whose
 * caller is held until it finishes. Completion is announced, not polled.
 *
 * The task is watched before it is queued, and the watch seen ready, so its
 * announcement cannot be missed and the store is read once, when it comes
 * (a third of the sync route's store reads). A watch that is not ready in
 * `WATCH_READY_MS` (its channel stalled) leaves the usual read-then-wait.
 *
 * The task lives only as long as someone waits for it. It carries a deadline
 * (the timeout), so a worker that reaches it later skips it; and when the
 * caller times out (`TaskTimeoutError`) or goes away (`signal`), the task is
 * marked expired at once. A model that no live worker serves is refused
 * straight away (`NoLiveWorkerError`) rather than waited on for nothing.
 */
export class SyncTasks {
  constructor(
    private readonly submit: SubmitTask,
    private readonly status: GetTaskStatus,
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
    private readonly ids: IdGenerator,
    private readonly live: LiveWorkers,
    private readonly clock: Clock,
    private readonly options: SyncTaskOptions,
  ) {}

  /** Runs `request` on `modelId`, a model its caller has checked the request against, and holds the caller until the task has succeeded. */
  async run(request: EmbeddingRequest, modelId: string, signal?: AbortSignal): Promise<SyncTaskOutcome> {
    if ((await this.live.count(modelId)) === 0) throw new NoLiveWorkerError(modelId, this.options.noWorkerRetryAfterSeconds);
    const deadline = new Date(this.clock.now().getTime() + this.options.timeoutMs);
    const taskId = this.ids.next();
    const watch = this.events.watch(taskId);
    let task: Task;
    let tokens: Allowance | undefined;
    try {
      const watching = await readyWithin(watch.ready, WATCH_READY_MS);
      ({ tokens } = await this.submit.submit({ ...request, deadline }, modelId, { taskId }));
      const query = { waitMs: this.options.timeoutMs, ...(signal && { signal }) };
      task = watching ? await this.status.awaitWatched(taskId, watch, query) : await this.status.execute(taskId, query);
    } finally {
      watch.cancel();
    }
    if (!isTerminal(task)) {
      const reason = signal?.aborted ? 'The client went away before the answer was ready.' : 'Nobody waited for the answer any more.';
      task = (await this.store.markExpired(task.id, reason, this.clock.now()).catch(() => undefined)) ?? task;
    }
    // Its id is in the logs, so an admin may have cancelled it while it ran.
    if (task.status === 'failed' || task.status === 'cancelled') throw failureOf(task);
    if (task.status !== 'succeeded' || !task.result) throw new TaskTimeoutError(task.id, this.options.timeoutMs / 1000);
    return { task, result: task.result, tokens };
  }
}
