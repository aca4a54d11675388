import type { Lane, TaskMessage } from '../domain/index.js';

/** One delivered message. Settle it exactly once; a second settlement is ignored. */
export interface Delivery {
  readonly message: TaskMessage;
  /** True when the message was delivered before and not acknowledged (its consumer died or requeued it). */
  readonly redelivered: boolean;
  /** The message is done with and is removed for good. */
  ack(): Promise<void>;
  /** Gives the message back, to be delivered again (to any consumer) with `redelivered` set. */
  requeue(): Promise<void>;
  /**
   * Moves the message to its model's dead-letter queue with `reason`, for an
   * operator to inspect; it is not delivered from the model's queue again.
   * Nothing is ever acknowledged away unread: what cannot be handled goes here.
   */
  deadLetter(reason: string): Promise<void>;
}

export interface Subscription {
  /**
   * Stops new deliveries. Deliveries already handed out may still be settled;
   * those never settled are requeued when the queue closes.
   */
  cancel(): Promise<void>;
}

/** Handles one delivery; a handler that throws leaves its delivery to be requeued. */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/** A model's queue as the broker sees it. */
export interface QueueStats {
  /** Messages waiting, not counting those delivered and not yet settled. */
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

export interface ConsumeOptions {
  /** Most unsettled deliveries this consumer holds at once. */
  readonly prefetch: number;
  /** Which of the model's queues to take from; default `interactive`. */
  readonly lane?: Lane;
}

/**
 * One queue per model and lane: a message waits in the queue of its model
 * and its `lane` (interactive when absent), and each consumer takes from one
 * lane. The lanes share the model's dead-letter queue.
 *
 * Guarantees:
 * - `publish` resolves only once the message is accepted durably (for a broker,
 *   once it confirmed it); it rejects with `CapacityExceededError` when the
 *   model's queue is full and with `ServiceUnavailableError` when it cannot
 *   reach the queue. A rejected publish enqueued nothing.
 * - Delivery is at-least-once: a message leaves the queue only when acked; an
 *   unsettled message whose consumer goes away is delivered again with
 *   `redelivered` set. Handlers must therefore be idempotent.
 * - Higher `priority` messages are delivered first; equal priorities in
 *   publish order (when not redelivered).
 * - A handler that throws leaves its delivery to be requeued.
 * - A message that does not decode, or sits on another model's queue, is
 *   dead-lettered with the reason; it never reaches a handler.
 */
export interface TaskQueue {
  publish(message: TaskMessage): Promise<void>;
  consume(model: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription>;
  /** Messages waiting in a model's interactive queue, not counting unacked deliveries. */
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
  /** Resolves when the queue can accept and deliver messages; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
