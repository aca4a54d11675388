import type { QueueInspector } from './queue-inspector.js';
import type { TaskCaller } from './task-caller.js';
import type { TaskConsumer } from './task-consumer.js';
import type { TaskPublisher } from './task-publisher.js';

export type { ConsumeOptions, Delivery, DeliveryHandler, Subscription } from './task-consumer.js';
export type { DeadLetter, DeadLetterAction, QueueStats } from './queue-inspector.js';
export type { CallAnswer, CallReply, TaskCaller } from './task-caller.js';

/**
 * What a queue adapter provides as a whole: one queue per model and lane
 * (a message waits in the queue of its model and its `lane`, interactive
 * when absent; each consumer takes from one lane; the lanes share the
 * model's dead-letter queue). Callers depend on the part they use:
 * `TaskPublisher` and `TaskCaller` (the API), `TaskConsumer` (the worker), `QueueInspector`
 * (the console and metrics); only the composition root sees the whole.
 */
export interface TaskQueue extends TaskPublisher, TaskCaller, TaskConsumer, QueueInspector {
  /** Resolves when the queue can accept and deliver messages; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
