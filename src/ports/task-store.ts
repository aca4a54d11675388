import type { EmbeddingResult, Task, TaskFailure, TaskStatus } from '../domain/index.js';

/** Which of the latest tasks to list. */
export interface RecentTasksQuery {
  readonly limit: number;
  readonly status?: TaskStatus;
  readonly model?: string;
}

/** How many of the latest created tasks a store keeps listable. */
export const RECENT_TASKS = 1000;

/**
 * Task records and their results, kept for a configured time to live. A
 * task's inputs are dropped when it reaches a final state: what stays until
 * the time to live runs out is the result (or the error) and the count of
 * inputs, so memory is spent on work in progress, not on work done.
 *
 * Every call is safe to repeat, as a client does when a reply is lost to a
 * dropped connection: `create` of the same task (same id, creation time and
 * model) succeeds again, `markRunning` with the same `at` counts one attempt,
 * and transitions on a terminal task are no-ops.
 *
 * Guarantees:
 * - Each transition is atomic and follows the task lifecycle
 *   (queued → running → succeeded | failed; queued | running → expired |
 *   cancelled; running → running on redelivery).
 * - A terminal task never changes again: transitions on it are no-ops that
 *   return the stored task unchanged, so a redelivered message cannot undo a
 *   result.
 * - `attempts` never passes `maxAttempts`: a start past it is a no-op that
 *   returns the task unchanged (not running since `at`).
 * - Timestamps stay ordered: a task finishes no earlier than it last started,
 *   whatever the order in which late writes arrive.
 * - Transitions on an unknown or expired id return `undefined`.
 * - `create` rejects with `TaskAlreadyExistsError` for another task's id and with
 *   `CapacityExceededError` when the store is full.
 */
export interface TaskStore {
  create(task: Task): Promise<void>;
  get(id: string): Promise<Task | undefined>;
  /** queued|running → running, counting an attempt (once per `at`), unless it has had `maxAttempts` already. */
  markRunning(id: string, at: Date, maxAttempts: number): Promise<Task | undefined>;
  markSucceeded(id: string, result: EmbeddingResult, at: Date): Promise<Task | undefined>;
  markFailed(id: string, failure: TaskFailure, at: Date): Promise<Task | undefined>;
  /** queued|running → expired: nobody waits for it any more, and it is not to be run. */
  markExpired(id: string, reason: string, at: Date): Promise<Task | undefined>;
  /** queued|running → cancelled: its owner called it off; it is not to be run, and a later result is dropped. */
  markCancelled(id: string, reason: string, at: Date): Promise<Task | undefined>;
  /**
   * The latest tasks, newest first: of the last RECENT_TASKS created (and not
   * yet expired or removed), those of `status` and `model` when given, at
   * most `limit`. Listed tasks may omit their inputs and result.
   */
  recent(query: RecentTasksQuery): Promise<Task[]>;
  /**
   * A task refused at submit (its message was not confirmed, yet may still
   * reach the queue): its inputs are dropped and it is ended `cancelled`
   * with `reason`, so that a message of it that lands later finds it ended
   * and is acknowledged, never run nor dead-lettered. It leaves the recent
   * list and takes no room among `maxTasks`. Refusing an unknown id is a
   * no-op.
   */
  refuse(id: string, reason: string, at: Date): Promise<void>;
  /** Resolves when the store can be read and written; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
