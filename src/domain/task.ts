import type { EmbeddingResult } from './embedding.js';
import type { RerankQuery } from './rerank.js';
import type { TextTruncation } from './truncation.js';
import { InferenceError, InvalidTransitionError, PayloadTooLargeError, ValidationError, type DomainError, type FieldIssue } from './errors.js';

/**
 * One input to embed: a text, or token ids of the model's own vocabulary
 * (as OpenAI's API accepts), which the model wraps in its special tokens.
 */
export type TextInput = string | readonly number[];

/**
 * Which of a model's queues a task waits in. Interactive tasks (a caller
 * waits) always go before bulk ones (a batch's lines), whatever their priority.
 */
export type Lane = 'interactive' | 'bulk';

/** Why a task failed, for callers that answer differently (a bad input is the client's fault). */
export type FailureKind = 'invalid_input' | 'too_large' | 'inference_failed' | 'attempts_exhausted';

/** Why a task failed: the reason, its kind, and for bad input the fields at fault. */
export interface TaskFailure {
  readonly reason: string;
  readonly kind: FailureKind;
  readonly issues?: readonly FieldIssue[];
}

/**
 * `expired`: nobody waits for the result any more (its deadline passed, or its client went away); it is not run.
 * `cancelled`: its owner called it off; it is not run, or its result is dropped.
 */
export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'expired', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** How a task can end; an ended task never changes again. */
export const FINAL_TASK_STATUSES = ['succeeded', 'failed', 'expired', 'cancelled'] as const satisfies readonly TaskStatus[];
export type FinalTaskStatus = (typeof FINAL_TASK_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(FINAL_TASK_STATUSES);

/** The terminal statuses of tasks that were given up rather than run to the end. */
export type AbandonedStatus = 'expired' | 'cancelled';

export interface Task {
  readonly id: string;
  readonly model: string;
  /** What to embed; emptied once the task is final, so that a finished task holds only its result. */
  readonly inputs: readonly TextInput[];
  /** How many inputs the task had, kept after `inputs` is emptied. */
  readonly inputCount: number;
  /** 0 (lowest) to 9 (highest); higher-priority tasks of a model are served first. */
  readonly priority: number;
  readonly status: TaskStatus;
  readonly createdAt: Date;
  readonly startedAt?: Date;
  readonly finishedAt?: Date;
  /** Why the task failed; set only when status is `failed`. */
  readonly error?: string;
  readonly failure?: FailureKind;
  /** For a task failed for its input: the inputs at fault (`input[3]`), as the client sent them. */
  readonly issues?: readonly FieldIssue[];
  /** Set only when status is `succeeded`. */
  readonly result?: EmbeddingResult;
  /** How many times a worker has started it (more than 1 means it was redelivered). */
  readonly attempts: number;
  /** The HTTP request that created it, so that the worker's log lines can be joined to the API's. */
  readonly requestId?: string;
  /** Past this, a worker does not start the task: it marks it expired. */
  readonly deadline?: Date;
  /** The name of the API key that created it; absent when the service ran open. */
  readonly owner?: string;
  /** Absent: interactive. */
  readonly lane?: Lane;
  /** Present on a rerank task: its inputs are documents, scored against this query (its result rows are `RERANK_ROW`s). */
  readonly rerank?: RerankQuery;
  /** How an embedding task's texts too long for the model are cut, or refused; absent: cut at the end. */
  readonly truncation?: TextTruncation;
  /** false: vectors as the model pools them, not scaled to unit length (TEI's `normalize: false`); absent: as the model is configured. */
  readonly normalize?: false;
}

/** What travels on a model's queue: everything a worker needs, so it never reads the store first. */
export interface TaskMessage {
  readonly taskId: string;
  readonly model: string;
  readonly inputs: readonly TextInput[];
  readonly priority: number;
  readonly enqueuedAt: Date;
  readonly requestId?: string;
  readonly deadline?: Date;
  /** Absent: interactive. */
  readonly lane?: Lane;
  readonly rerank?: RerankQuery;
  readonly truncation?: TextTruncation;
  readonly normalize?: false;
  /**
   * A call's (a message whose sender waits for the answer, with no task
   * record): the attempts its work has had before this copy of it. A task
   * record counts its own attempts; a call has only its message to count them.
   */
  readonly attempts?: number;
  /**
   * A joint call's: how many callers' requests it carries, their inputs one
   * after another (absent: one). It is tried once: a failure is answered at
   * once, and its callers then send their requests again, each alone.
   */
  readonly calls?: number;
}

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 9;
export const DEFAULT_PRIORITY = 0;

type NewTaskFields = Pick<Task, 'id' | 'model' | 'inputs' | 'priority' | 'requestId' | 'deadline' | 'owner' | 'lane' | 'rerank' | 'truncation' | 'normalize'>;

export function newTask(fields: NewTaskFields & { now: Date }): Task {
  return {
    id: fields.id,
    model: fields.model,
    inputs: fields.inputs,
    inputCount: fields.inputs.length,
    priority: fields.priority,
    status: 'queued',
    createdAt: fields.now,
    attempts: 0,
    ...(fields.requestId !== undefined && { requestId: fields.requestId }),
    ...(fields.deadline !== undefined && { deadline: fields.deadline }),
    ...(fields.owner !== undefined && { owner: fields.owner }),
    ...(fields.lane === 'bulk' && { lane: fields.lane }),
    ...(fields.rerank !== undefined && { rerank: fields.rerank }),
    ...(fields.truncation !== undefined && { truncation: fields.truncation }),
    ...(fields.normalize === false && { normalize: false as const }),
  };
}

/**
 * What the embeddings endpoint answers for a task that ended without a
 * result: its input refused, its inference failed, or the task given up
 * (cancelled, or expired) before it finished.
 */
export function failureOf(task: Task): DomainError {
  const reason = task.error ?? `The task ${task.status}.`;
  if (task.status === 'failed') {
    const issues = task.issues ?? [{ path: 'input', message: reason }];
    if (task.failure === 'too_large') return new PayloadTooLargeError(reason, issues);
    return task.failure === 'invalid_input' ? new ValidationError(reason, issues) : new InferenceError(reason);
  }
  return new InvalidTransitionError(`Task ${task.id} was ${task.status} before it finished (${reason}).`);
}

export function isTerminal(task: Task): boolean {
  return TERMINAL_STATUSES.has(task.status);
}

export function toMessage(task: Task): TaskMessage {
  return {
    taskId: task.id,
    model: task.model,
    inputs: task.inputs,
    priority: task.priority,
    enqueuedAt: task.createdAt,
    ...(task.requestId !== undefined && { requestId: task.requestId }),
    ...(task.deadline !== undefined && { deadline: task.deadline }),
    ...(task.lane === 'bulk' && { lane: task.lane }),
    ...(task.rerank !== undefined && { rerank: task.rerank }),
    ...(task.truncation !== undefined && { truncation: task.truncation }),
    ...(task.normalize === false && { normalize: false as const }),
  };
}

/** Whether a message's deadline has passed at `now`. */
export function isPastDeadline(message: Pick<TaskMessage, 'deadline'>, now: Date): boolean {
  return message.deadline !== undefined && now.getTime() > message.deadline.getTime();
}

/*
 * The lifecycle is queued → running → succeeded | failed, and queued |
 * running → expired when nobody waits any more, or → cancelled when its owner
 * calls it off. `running → running` is allowed because an at-least-once
 * queue redelivers a task whose worker died; a terminal task never changes.
 */

/**
 * queued | running → running, counting an attempt; a task that has had
 * `maxAttempts` is left as it is. A start repeated with the same time is the
 * same start (a retried command): it counts no second attempt.
 */
export function startTask(task: Task, now: Date, maxAttempts: number): Task {
  if (isTerminal(task)) {
    throw new InvalidTransitionError(`Task ${task.id} is ${task.status}; it cannot start again.`);
  }
  if (task.status === 'running' && task.startedAt?.getTime() === now.getTime()) return task;
  if (task.attempts >= maxAttempts) return task;
  return { ...task, status: 'running', startedAt: now, attempts: task.attempts + 1 };
}

/** Whether `task` ended `status` by a transition made at `at` (its end is `at`, or its last start when that was later). */
export function endedAt(task: Task, status: TaskStatus, at: Date): boolean {
  return task.status === status && task.finishedAt?.getTime() === endTime(task, at).getTime();
}

/** Whether `task` is running an attempt that started at `at`: what a start that took effect returns. */
export function startedAt(task: Task, at: Date): boolean {
  return task.status === 'running' && task.startedAt?.getTime() === at.getTime();
}

/** When a task ends: `now`, or its last start if that is later (a late write must not put its end before its start). */
function endTime(task: Task, now: Date): Date {
  return task.startedAt && task.startedAt > now ? task.startedAt : now;
}

/** An ended task never changes again. */
function assertNotEnded(task: Task): void {
  if (isTerminal(task)) throw new InvalidTransitionError(`Task ${task.id} is already ${task.status}.`);
}

export function succeedTask(task: Task, result: EmbeddingResult, now: Date): Task {
  assertNotEnded(task);
  return { ...task, inputs: [], status: 'succeeded', finishedAt: endTime(task, now), result };
}

export function failTask(task: Task, failure: TaskFailure, now: Date): Task {
  assertNotEnded(task);
  return {
    ...task,
    inputs: [],
    status: 'failed',
    finishedAt: endTime(task, now),
    error: failure.reason,
    failure: failure.kind,
    ...(failure.issues && failure.issues.length > 0 && { issues: failure.issues }),
  };
}

/** queued | running → expired or cancelled: the task is given up, and a result that comes later is dropped. */
export function abandonTask(task: Task, status: AbandonedStatus, reason: string, now: Date): Task {
  assertNotEnded(task);
  return { ...task, inputs: [], status, finishedAt: endTime(task, now), error: reason };
}
