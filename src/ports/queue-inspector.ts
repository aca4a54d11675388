import type { TaskMessage } from '../domain/index.js';

/** A model's queue as the broker sees it. */
export interface QueueStats {
  /** Messages waiting in the interactive lane, tasks and calls, not counting those delivered and not yet settled. */
  readonly ready: number;
  readonly consumers: number;
  /** Messages in the model's dead-letter queue. */
  readonly deadLettered: number;
}

/** A message in a dead-letter queue, and why it is there. */
export interface DeadLetter {
  readonly reason: string;
  /** The message, when it decodes; a malformed one is listed by its reason alone. */
  readonly message?: TaskMessage;
}

/** What to do with a dead-lettered message: back to its model's queue, or away for good. */
export type DeadLetterAction = 'requeue' | 'discard';

/** What operators and metrics read of the queues, and the dead-letter administration (the console's side). */
export interface QueueInspector {
  /** Messages waiting in a model's interactive lane (tasks and calls), not counting unacked deliveries. */
  depth(model: string): Promise<number>;
  stats(model: string): Promise<QueueStats>;
  /** The oldest `limit` dead-lettered messages of a model, with why; looking leaves them where they are. */
  deadLetters(model: string, limit: number): Promise<DeadLetter[]>;
  /**
   * Requeues (to the model's queue, to be delivered again) or discards the
   * dead-lettered message of `taskId`; false when the dead-letter queue holds
   * none. A requeued message is on its queue before it leaves the dead-letter
   * queue, so a failure in between leaves a copy, never none.
   */
  resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<boolean>;
}
