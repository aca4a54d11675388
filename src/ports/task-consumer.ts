import type { Lane, TaskMessage } from '../domain/index.js';
import type { CallReply } from './task-caller.js';

/** One delivered message. Settle it exactly once; a second settlement is ignored. */
export interface Delivery {
  readonly message: TaskMessage;
  /** True when the message was delivered before and not acknowledged (its consumer died or requeued it). */
  readonly redelivered: boolean;
  /** Present when the message is a call (`TaskCaller`): its sender waits for the answer, and there is no task record. */
  readonly call?: CallReply;
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

export interface ConsumeOptions {
  /**
   * Most unsettled deliveries this consumer holds at once. An interactive
   * consumer takes calls too, under a prefetch of the same size of their own:
   * a call never waits behind tasks the consumer holds (for a store that
   * stalls, say).
   */
  readonly prefetch: number;
  /** Which of the model's queues to take from; default `interactive`. */
  readonly lane?: Lane;
}

/**
 * Takes tasks from a model's queue (the worker's side).
 *
 * Guarantees:
 * - Delivery is at-least-once: a message leaves the queue only when acked; an
 *   unsettled message whose consumer goes away is delivered again with
 *   `redelivered` set. Handlers must therefore be idempotent.
 * - A handler that throws leaves its delivery to be requeued.
 * - A message that does not decode, or sits on another model's queue, is
 *   dead-lettered with the reason; it never reaches a handler.
 */
export interface TaskConsumer {
  consume(model: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription>;
}
