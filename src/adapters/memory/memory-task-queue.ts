import { ServiceUnavailableError, type TaskMessage } from '../../domain/index.js';
import type {
  CallAnswer,
  ConsumeOptions,
  DeadLetterAction,
  DeadLetter,
  DeliveryHandler,
  Delivery,
  QueueStats,
  Subscription,
  TaskQueue,
} from '../../ports/task-queue.js';
import { MemoryBroker, removeConsumer, type Consumer, type Entry, type QueueKind } from './memory-broker.js';

export { MemoryBroker };

/**
 * A client of a `MemoryBroker`, with the delivery semantics of the RabbitMQ
 * adapter: at-least-once, prefetch-bounded, priority-ordered, requeue on nack,
 * on a handler that throws, and on close.
 */
export class MemoryTaskQueue implements TaskQueue {
  private readonly consumers = new Set<Consumer>();
  /** Calls of this client still waiting: refused when it closes. */
  private readonly waiting = new Set<(error: Error) => void>();
  private closed = false;

  constructor(private readonly broker: MemoryBroker = new MemoryBroker()) {}

  async publish(message: TaskMessage): Promise<void> {
    this.assertOpen();
    this.broker.publish(message);
  }

  call(message: TaskMessage, signal: AbortSignal): Promise<CallAnswer> {
    return new Promise<CallAnswer>((resolve, reject) => {
      this.assertOpen();
      signal.throwIfAborted();
      const end = () => {
        signal.removeEventListener('abort', abort);
        this.waiting.delete(refuse);
      };
      const refuse = (error: Error) => (end(), reject(error));
      const abort = () => refuse(signal.reason as Error);
      signal.addEventListener('abort', abort, { once: true });
      this.waiting.add(refuse);
      try {
        // Once settled, the promise ignores later answers (a redelivered copy's).
        this.broker.publish(message, (answer) => (end(), resolve(answer)));
      } catch (error) {
        refuse(error as Error);
      }
    });
  }

  async consume(model: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    if (options.lane === 'bulk') return this.consumeQueue(model, 'bulk', handler, options.prefetch);
    const tasks = this.consumeQueue(model, 'interactive', handler, options.prefetch);
    const calls = this.consumeQueue(model, 'calls', handler, options.prefetch);
    return { cancel: async () => void (await Promise.all([tasks.cancel(), calls.cancel()])) };
  }

  private consumeQueue(model: string, lane: QueueKind, handler: DeliveryHandler, prefetch: number): Subscription {
    const queue = this.broker.queue(model, lane);
    const consumer: Consumer = {
      model,
      lane,
      client: this,
      handler,
      prefetch: Math.max(1, prefetch),
      unsettled: new Set(),
      active: true,
    };
    queue.consumers.push(consumer);
    this.consumers.add(consumer);
    this.broker.scheduleDispatch(queue);
    return {
      cancel: async () => {
        consumer.active = false;
        removeConsumer(queue, consumer);
      },
    };
  }

  async depth(model: string): Promise<number> {
    return this.broker.queue(model).size + this.broker.queue(model, 'calls').size;
  }

  async stats(model: string): Promise<QueueStats> {
    this.assertOpen();
    const queue = this.broker.queue(model);
    const ready = queue.size + this.broker.queue(model, 'calls').size;
    return { ready, consumers: queue.consumers.length, deadLettered: this.broker.deadLetters(model).length };
  }

  async deadLetters(model: string, limit: number): Promise<DeadLetter[]> {
    this.assertOpen();
    return this.broker.deadLetters(model).slice(0, limit).map(({ message, reason }) => ({ message, reason }));
  }

  async resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<boolean> {
    this.assertOpen();
    return this.broker.resolveDeadLetter(model, taskId, action);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers) {
      consumer.active = false;
      removeConsumer(this.broker.queue(consumer.model, consumer.lane), consumer);
      for (const entry of consumer.unsettled) this.broker.requeue(entry);
      consumer.unsettled.clear();
    }
    this.consumers.clear();
    for (const refuse of [...this.waiting]) refuse(new ServiceUnavailableError('The task queue closed before the answer came.'));
  }

  /** Called by the broker for each message it hands to one of this client's consumers. */
  deliver(consumer: Consumer, entry: Entry): void {
    let settled = false;
    const settle = (outcome: { requeue: true } | { deadLetter: string } | { ack: true } | { retry: true }) => {
      // Ignore a second settlement, and one that arrives after close already requeued it.
      if (settled || !consumer.unsettled.delete(entry)) return;
      settled = true;
      if ('requeue' in outcome) this.broker.requeue(entry);
      else if ('retry' in outcome) this.broker.retry(entry);
      else if ('deadLetter' in outcome) this.broker.deadLetter(entry.message, outcome.deadLetter);
      this.broker.scheduleDispatch(this.broker.queueOf(entry));
    };
    const delivery: Delivery = {
      message: entry.message,
      redelivered: entry.redelivered,
      ack: async () => settle({ ack: true }),
      requeue: async () => settle({ requeue: true }),
      deadLetter: async (reason) => settle({ deadLetter: reason }),
      ...(entry.reply && { call: { answer: async (answer: CallAnswer) => entry.reply!(answer), retry: async () => settle({ retry: true }) } }),
    };
    Promise.resolve()
      .then(() => consumer.handler(delivery))
      .catch(() => settle({ requeue: true }));
  }

  private assertOpen(): void {
    if (this.closed) throw new ServiceUnavailableError('The task queue is closed.');
  }
}
