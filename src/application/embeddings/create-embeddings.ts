import { failureOf, isTerminal, NoLiveWorkerError, shorten, TaskTimeoutError, type Allowance, type EmbeddingRequest, type Task } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { GetTaskStatus } from './get-task-status.js';
import type { LiveWorkers } from '../models/live-workers.js';
import type { RequestCheck } from './request-check.js';
import type { SubmitEmbedding } from './submit-embedding.js';

export interface CreateEmbeddingsRequest extends EmbeddingRequest {
  /** Shorten every vector to this size; only for models that declare it. */
  readonly dimensions?: number;
}

export interface CreatedEmbeddings {
  readonly task: Task;
  readonly vectors: readonly Float32Array[];
  /** The caller's tokens allowance after this request; undefined when tokens are not limited. */
  readonly tokens: Allowance | undefined;
}

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

export interface CreateEmbeddingsOptions {
  /** How long a caller is held before `TaskTimeoutError`; also the task's deadline. */
  readonly timeoutMs: number;
  /** What a caller is told to wait when no worker serves the model: about one heartbeat, by when one may have reported in. */
  readonly noWorkerRetryAfterSeconds: number;
}

/**
 * The synchronous path (OpenAI's `POST /v1/embeddings`): a task like any
 * other, through the queue and a worker, whose caller is held until it
 * finishes. Completion is announced, not polled.
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
export class CreateEmbeddings {
  constructor(
    private readonly check: RequestCheck,
    private readonly submit: SubmitEmbedding,
    private readonly status: GetTaskStatus,
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
    private readonly ids: IdGenerator,
    private readonly live: LiveWorkers,
    private readonly clock: Clock,
    private readonly options: CreateEmbeddingsOptions,
  ) {}

  async execute(request: CreateEmbeddingsRequest, signal?: AbortSignal): Promise<CreatedEmbeddings> {
    // Checked first, so that a bad request is refused before a model without a worker is.
    const model = await this.check.execute(request);
    if ((await this.live.count(model.id)) === 0) throw new NoLiveWorkerError(model.id, this.options.noWorkerRetryAfterSeconds);
    const deadline = new Date(this.clock.now().getTime() + this.options.timeoutMs);
    const taskId = this.ids.next();
    const watch = this.events.watch(taskId);
    let task: Task;
    let tokens: Allowance | undefined;
    try {
      const watching = await readyWithin(watch.ready, WATCH_READY_MS);
      ({ tokens } = await this.submit.submitChecked({ ...request, deadline }, model.id, { taskId }));
      const query = { waitMs: this.options.timeoutMs, ...(signal && { signal }) };
      task = watching ? await this.status.awaitWatched(taskId, watch, query) : await this.status.execute(taskId, query);
    } finally {
      watch.cancel();
    }
    if (!isTerminal(task)) {
      const reason = signal?.aborted ? 'The client went away before the embeddings were ready.' : 'Nobody waited for the embeddings any more.';
      task = (await this.store.markExpired(task.id, reason, this.clock.now()).catch(() => undefined)) ?? task;
    }
    // Its id is in the logs, so an admin may have cancelled it while it ran.
    if (task.status === 'failed' || task.status === 'cancelled') throw failureOf(task);
    if (task.status !== 'succeeded' || !task.result) throw new TaskTimeoutError(task.id, this.options.timeoutMs / 1000);
    const dimensions = request.dimensions;
    const vectors = dimensions === undefined ? task.result.vectors : task.result.vectors.map((v) => shorten(v, dimensions));
    return { task, vectors, tokens };
  }
}
