import { endedAt, isPastDeadline, startedAt, isTerminal, type DomainError, type InputLimits, type Task, type TaskFailure, type TaskMessage } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { DeadLetterKind, Metrics, TaskOutcome } from '../../ports/metrics.js';
import type { Delivery } from '../../ports/task-consumer.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { ModelActivityRecorder } from './model-activity.js';
import { untilAnswered } from './until-answered.js';
import { attempt, breachOf, seconds, worthRetrying, type RunTask } from './attempt.js';

export type { RunTask };

export interface TaskHandlerOptions {
  /** Attempts a task gets (model failures and worker crashes both count) before it is failed and dead-lettered. */
  readonly maxAttempts: number;
  /** The API's limits, checked again: a message is not trusted to respect them. */
  readonly limits: InputLimits;
}

/**
 * What a worker does with one delivered task: marks it running, embeds its
 * inputs (through the model's batcher), stores the result, and only then
 * acknowledges the message, so a worker that dies mid-task leaves it to be
 * redelivered.
 *
 * A model failure is retried (the message is requeued) until the task has had
 * `maxAttempts` attempts; then the task is marked failed with the reason and
 * the message goes to the dead-letter queue. A task whose workers keep dying
 * on it ends the same way once its attempts run out. While the store is
 * unavailable, the worker holds the delivery and repeats the same command
 * until it answers (`untilAnswered`); once the worker stops, a store failure
 * is thrown, so the queue requeues the message for a later try.
 */
export class TaskHandler {
  constructor(
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: TaskHandlerOptions,
    /** What the worker records of each model's work, for its heartbeat. */
    private readonly activityOf: (model: string) => ModelActivityRecorder | undefined,
    /** Aborted when the worker stops: it waits no longer for a store that does not answer. */
    private readonly stopping: AbortSignal,
  ) {}

  private completed(model: string, outcome: TaskOutcome, seconds: number): void {
    this.metrics.taskCompleted(model, outcome, seconds);
    this.activityOf(model)?.finished(outcome);
  }

  async handle(run: RunTask, delivery: Delivery): Promise<void> {
    const message = delivery.message;
    const log = this.logger.child({
      taskId: message.taskId,
      model: message.model,
      ...(message.requestId !== undefined && { requestId: message.requestId }),
    });
    const breach = breachOf(message, this.options.limits);
    if (breach) {
      await this.failIfItsOwn(message, breach, log);
      await this.deadLetter(delivery, 'breaks_limits', `breaks the input limits: ${breach.message}`, log);
      return;
    }
    const now = this.clock.now();
    const late = isPastDeadline(message, now);
    const task = late ? await this.expire(message, log) : await this.patiently(() => this.store.markRunning(message.taskId, now, this.options.maxAttempts), log);
    if (!task) {
      await this.deadLetter(delivery, 'no_record', 'no task record: it expired, or was never created', log);
      return;
    }
    if (isTerminal(task)) {
      // A redelivery of a task that already finished, or a task cancelled or expired before it ran: what is stored stands.
      if (!late) this.metrics.transitionRefused(message.model, 'start');
      log.info('task is already final; acknowledging its message', { status: task.status });
      await delivery.ack();
      // The worker that ended it may have died before it told anyone: a caller held on the sync route would wait out its timeout.
      this.announce(message.taskId, log);
      return;
    }
    if (!sameWork(task, message)) {
      await this.deadLetter(delivery, 'disagrees_with_record', 'the message disagrees with its task record (model or inputs)', log);
      return;
    }
    if (!startedAt(task, now)) {
      // The store did not start it: it has had its attempts (workers died on it, or its model kept failing).
      await this.giveUp(task, delivery, { reason: `gave up after ${this.options.maxAttempts} attempts`, kind: 'attempts_exhausted' }, log);
      return;
    }
    const waited = seconds(message.enqueuedAt, task.startedAt ?? this.clock.now());
    this.metrics.taskWaited(message.model, waited);
    this.activityOf(message.model)?.waited(waited);
    this.metrics.taskInFlight(message.model, 1);
    try {
      await this.finish(task, run, delivery, log);
    } finally {
      this.metrics.taskInFlight(message.model, -1);
    }
  }

  private async finish(task: Task, run: RunTask, delivery: Delivery, log: Logger): Promise<void> {
    const message = delivery.message;
    const outcome = await attempt(run, message);
    if (outcome.ok) {
      const now = this.clock.now();
      const stored = await this.patiently(() => this.store.markSucceeded(message.taskId, outcome.result, now), log);
      // Counted only by the worker whose result was stored (a redelivered task may be finished by two).
      if (stored && endedAt(stored, 'succeeded', now)) {
        this.completed(message.model, 'succeeded', seconds(message.enqueuedAt, now));
        log.debug('task succeeded');
      } else if (stored?.status === 'expired' || stored?.status === 'cancelled') {
        // Given up while it ran (its client went away, or its owner cancelled it): the stored state stands, the result is dropped.
        log.info('task was given up while it ran; its result is dropped', { status: stored.status });
      } else {
        this.metrics.transitionRefused(message.model, 'complete');
        log.info('task was finished by another delivery; its result stands', { status: stored?.status });
      }
      await delivery.ack();
      this.announce(message.taskId, log);
    } else if (!worthRetrying(outcome.failure)) {
      await this.giveUp(task, delivery, outcome.failure, log);
    } else if (task.attempts < this.options.maxAttempts) {
      log.warn('attempt failed; requeueing', { attempt: task.attempts, reason: outcome.failure.reason });
      await delivery.requeue();
    } else {
      await this.giveUp(task, delivery, outcome.failure, log);
    }
  }

  private async giveUp(task: Task, delivery: Delivery, failure: TaskFailure, log: Logger): Promise<void> {
    const now = this.clock.now();
    const stored = await this.patiently(() => this.store.markFailed(task.id, failure, now), log);
    if (stored && isTerminal(stored) && !endedAt(stored, 'failed', now)) {
      // It ended otherwise meanwhile (another delivery finished it): what is stored stands, and this message is a stale copy.
      this.metrics.transitionRefused(task.model, 'fail');
      log.info('task had already ended; acknowledging a stale message', { status: stored.status });
      await delivery.ack();
      return;
    }
    this.completed(task.model, 'failed', seconds(task.createdAt, now));
    log.warn('task failed', { reason: failure.reason, kind: failure.kind, attempts: task.attempts });
    await this.deadLetter(delivery, failure.kind, failure.reason, log);
    this.announce(task.id, log);
  }

  /** A task nobody waits for any more is not run: it is marked expired (and so is final, and its message acknowledged). */
  private async expire(message: TaskMessage, log: Logger): Promise<Task | undefined> {
    const now = this.clock.now();
    const task = await this.patiently(() => this.store.markExpired(message.taskId, 'Its deadline passed before a worker could start it.', now), log);
    if (task?.status === 'expired' && task.finishedAt?.getTime() === now.getTime()) {
      this.completed(message.model, 'expired', seconds(message.enqueuedAt, now));
      log.info('deadline passed; not running the task');
      this.announce(message.taskId, log);
    }
    return task;
  }

  private async deadLetter(delivery: Delivery, kind: DeadLetterKind, reason: string, log: Logger): Promise<void> {
    log.warn('dead-lettering a message', { kind, reason });
    this.metrics.messageDeadLettered(delivery.message.model, kind);
    await delivery.deadLetter(reason);
  }

  /**
   * A message that breaks the limits fails its task, so that the client
   * learns why, but only when it carries that task's own inputs: a stray
   * message must not fail someone else's task.
   */
  private async failIfItsOwn(message: TaskMessage, breach: DomainError, log: Logger): Promise<void> {
    const task = await this.patiently(() => this.store.get(message.taskId), log);
    if (!task || isTerminal(task) || !sameWork(task, message)) return;
    const now = this.clock.now();
    await this.patiently(() => this.store.markFailed(task.id, { reason: breach.message, kind: 'invalid_input', issues: breach.issues }, now), log);
    this.completed(task.model, 'failed', seconds(task.createdAt, this.clock.now()));
    this.announce(task.id, log);
  }

  /** A store command, repeated as it is until the store answers (see `untilAnswered`). */
  private patiently<T>(command: () => Promise<T>, log: Logger): Promise<T> {
    return untilAnswered(command, this.stopping, (error) => log.warn('the store is unavailable; holding the task until it answers', { err: error }));
  }

  /** Best-effort: a waiter that misses it still sees the stored result when its wait ends. */
  private announce(taskId: string, log: Logger): void {
    this.events.announceFinished(taskId).catch((error: unknown) => log.warn('could not announce a finished task', { err: error }));
  }
}

/** Whether a message asks for the work its task record describes. */
function sameWork(task: Task, message: TaskMessage): boolean {
  if (task.model !== message.model || task.inputs.length !== message.inputs.length) return false;
  return task.inputs.every((input, i) => {
    const other = message.inputs[i]!;
    if (typeof input === 'string' || typeof other === 'string') return input === other;
    return input.length === other.length && input.every((id, j) => id === other[j]);
  });
}
