import type { TaskMessage } from '../domain/index.js';

/**
 * Puts tasks on their model's queue (the API's side).
 *
 * Guarantees: `publish` resolves only once the message is accepted durably
 * (for a broker, once it confirmed it); it rejects with
 * `CapacityExceededError` when the model's queue is full and with
 * `ServiceUnavailableError` when it cannot reach the queue. A rejected
 * publish enqueued nothing. Higher `priority` messages are delivered first,
 * equal priorities in publish order; an adapter may serve priorities in
 * classes instead (RabbitMQ's quorum queues: 0–4 and 5–9), where a higher
 * class never waits behind a lower one's backlog, and each class is served
 * in publish order.
 */
export interface TaskPublisher {
  publish(message: TaskMessage): Promise<void>;
}
