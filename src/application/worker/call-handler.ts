import { isPastDeadline, type TaskFailure, type TaskMessage } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { DeadLetterKind, Metrics, TaskOutcome } from '../../ports/metrics.js';
import type { CallReply } from '../../ports/task-caller.js';
import type { Delivery } from '../../ports/task-consumer.js';
import { attempt, breachOf, seconds, worthRetrying, type RunTask } from './attempt.js';
import type { ModelActivityRecorder } from './model-activity.js';
import type { TaskHandlerOptions } from './task-handler.js';

/**
 * What a worker does with a call (a message whose sender waits for the
 * answer, with no task record): runs it, sends the answer straight back,
 * and only then acknowledges the message, so a worker that dies mid-call
 * leaves it to be redelivered and answered by another.
 *
 * Attempts are counted in the message itself, there being no record: a
 * redelivered call (the worker before died holding it) and a call whose
 * model failed go back on the queue as a copy with one more attempt
 * (`CallReply.retry`), until `maxAttempts`; then the caller is answered
 * with the failure and the message dead-lettered, so a text that kills
 * workers kills at most that many. A call past its deadline is not run:
 * its caller has stopped waiting.
 *
 * A joint call (`TaskMessage.calls`, several callers' requests in one
 * message) is tried once: failed, or redelivered, it is answered with the
 * failure and dropped, and its callers send their requests again alone.
 */
export class CallHandler {
  constructor(
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: TaskHandlerOptions,
    /** What the worker records of each model's work, for its heartbeat. */
    private readonly activityOf: (model: string) => ModelActivityRecorder | undefined,
  ) {}

  async handle(run: RunTask, delivery: Delivery, call: CallReply): Promise<void> {
    const message = delivery.message;
    const log = this.logger.child({ taskId: message.taskId, model: message.model, ...(message.requestId !== undefined && { requestId: message.requestId }) });
    const joint = (message.calls ?? 1) > 1;
    const breach = breachOf(message, this.options.limits);
    if (breach) {
      const failure = { reason: breach.message, kind: 'invalid_input' as const, issues: breach.issues };
      await (joint ? this.giveBack(delivery, call, failure, log) : this.fail(delivery, call, failure, 'breaks_limits', log));
      return;
    }
    const started = this.clock.now();
    if (isPastDeadline(message, started)) {
      this.completed(message, 'expired', seconds(message.enqueuedAt, started));
      log.info('deadline passed; not running the call');
      await delivery.ack();
      return;
    }
    // Attempts had before this one: those counted in the message, and the one a redelivery shows has ended unanswered.
    const before = (message.attempts ?? 0) + (delivery.redelivered ? 1 : 0);
    if (delivery.redelivered) {
      if (joint) await this.giveBack(delivery, call, { reason: 'the worker running this joint call stopped', kind: 'attempts_exhausted' }, log);
      else if (before < this.options.maxAttempts) await call.retry();
      else await this.fail(delivery, call, { reason: `gave up after ${before} attempts`, kind: 'attempts_exhausted' }, 'attempts_exhausted', log);
      return;
    }
    const waited = seconds(message.enqueuedAt, started);
    this.metrics.taskWaited(message.model, waited);
    this.activityOf(message.model)?.waited(waited);
    this.metrics.taskInFlight(message.model, 1);
    try {
      const outcome = await attempt(run, message);
      if (outcome.ok) {
        const finished = this.clock.now();
        await call.answer({ ok: true, result: outcome.result, startedAt: started, finishedAt: finished });
        this.completed(message, 'succeeded', seconds(message.enqueuedAt, finished));
        await delivery.ack();
      } else if (joint) {
        await this.giveBack(delivery, call, outcome.failure, log);
      } else if (worthRetrying(outcome.failure) && before + 1 < this.options.maxAttempts) {
        log.warn('attempt failed; retrying', { attempt: before + 1, reason: outcome.failure.reason });
        await call.retry();
      } else {
        await this.fail(delivery, call, outcome.failure, outcome.failure.kind, log);
      }
    } finally {
      this.metrics.taskInFlight(message.model, -1);
    }
  }

  /**
   * A joint call that failed, or whose worker died: its callers are told,
   * and each sends its request again alone, where attempts are counted and
   * a failure is its own. Nothing is counted or dead-lettered for it here.
   */
  private async giveBack(delivery: Delivery, call: CallReply, failure: TaskFailure, log: Logger): Promise<void> {
    log.info('joint call failed; its callers send their requests again, each alone', { calls: delivery.message.calls, reason: failure.reason });
    await call.answer({ ok: false, failure });
    await delivery.ack();
  }

  /** Tells the caller why, then keeps the message in the dead-letter queue for an operator. */
  private async fail(delivery: Delivery, call: CallReply, failure: TaskFailure, kind: DeadLetterKind, log: Logger): Promise<void> {
    const message = delivery.message;
    await call.answer({ ok: false, failure });
    this.completed(message, 'failed', seconds(message.enqueuedAt, this.clock.now()));
    log.warn('call failed; dead-lettering its message', { kind, reason: failure.reason });
    this.metrics.messageDeadLettered(message.model, kind);
    await delivery.deadLetter(failure.reason);
  }

  /** Each caller's request counts as one task, as it would alone: a joint call's as many as it carries. */
  private completed(message: TaskMessage, outcome: TaskOutcome, secondsTaken: number): void {
    for (let i = 0; i < (message.calls ?? 1); i++) {
      this.metrics.taskCompleted(message.model, outcome, secondsTaken);
      this.activityOf(message.model)?.finished(outcome);
    }
  }
}
