import { CapacityExceededError, MAX_PRIORITY, type Lane, type TaskMessage } from '../../domain/index.js';
import type { CallAnswer } from '../../ports/task-caller.js';
import type { Delivery } from '../../ports/task-consumer.js';

export interface Entry {
  readonly message: TaskMessage;
  redelivered: boolean;
  /** A call's: where its answer goes (the caller's promise, in this process). */
  readonly reply?: (answer: CallAnswer) => void;
}

/** Where a message waits: its lane's queue, or, for a call, the calls' queue beside the interactive lane. */
export type QueueKind = Lane | 'calls';

export interface Consumer {
  readonly model: string;
  readonly lane: QueueKind;
  /** The client whose consumer this is: it hands the delivery to the handler. */
  readonly client: { deliver(consumer: Consumer, entry: Entry): void };
  readonly handler: (delivery: Delivery) => Promise<void>;
  readonly prefetch: number;
  readonly unsettled: Set<Entry>;
  active: boolean;
}

/** A message in a dead-letter queue, and why it is there. */
export interface DeadLetter {
  readonly message: TaskMessage;
  readonly reason: string;
}

/** One model's queue: a FIFO per priority level, highest level served first. */
export class ModelQueue {
  readonly levels: Entry[][] = Array.from({ length: MAX_PRIORITY + 1 }, () => []);
  readonly consumers: Consumer[] = [];
  size = 0;
  private nextConsumer = 0;

  push(entry: Entry, atFront: boolean): void {
    const level = this.levels[clampPriority(entry.message.priority)]!;
    if (atFront) level.unshift(entry);
    else level.push(entry);
    this.size++;
  }

  shift(): Entry | undefined {
    for (let p = MAX_PRIORITY; p >= 0; p--) {
      const entry = this.levels[p]!.shift();
      if (entry) {
        this.size--;
        return entry;
      }
    }
    return undefined;
  }

  /** Round-robin over consumers that have room under their prefetch. */
  pickConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const consumer = this.consumers[(this.nextConsumer + i) % n]!;
      if (consumer.active && consumer.unsettled.size < consumer.prefetch) {
        this.nextConsumer = (this.nextConsumer + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }
}

function clampPriority(priority: number): number {
  return Math.min(MAX_PRIORITY, Math.max(0, Math.trunc(priority)));
}

/**
 * The in-process broker behind `MemoryTaskQueue` clients. It plays the part
 * RabbitMQ plays: it holds messages, and when a client closes, the messages
 * that client's consumers never settled go back to their queues.
 */
export class MemoryBroker {
  private readonly queues = new Map<string, ModelQueue>();
  private readonly dead = new Map<string, DeadLetter[]>();
  private dispatchScheduled = new Set<ModelQueue>();

  /** @param maxLength most ready messages per model queue; publish beyond it is refused. */
  constructor(readonly maxLength = 100_000) {}

  /** A model's queue of one lane, or its calls' (a queue each, as on RabbitMQ). */
  queue(model: string, lane: QueueKind = 'interactive'): ModelQueue {
    const key = `${lane}\u0000${model}`;
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new ModelQueue();
      this.queues.set(key, queue);
    }
    return queue;
  }

  /** `reply`: the message is a call, answered there. */
  publish(message: TaskMessage, reply?: (answer: CallAnswer) => void): void {
    const queue = this.queue(message.model, reply ? 'calls' : message.lane);
    if (queue.size >= this.maxLength) {
      throw new CapacityExceededError(`The queue of model '${message.model}' is full (${this.maxLength} tasks).`);
    }
    queue.push({ message, redelivered: false, ...(reply && { reply }) }, false);
    this.scheduleDispatch(queue);
  }

  /** A call's copy with one more attempt counted, at the back of its queue (as RabbitMQ's republished copy goes). */
  retry(entry: Entry): void {
    const copy: Entry = { message: { ...entry.message, attempts: (entry.message.attempts ?? 0) + 1 }, redelivered: false, ...(entry.reply && { reply: entry.reply }) };
    const queue = this.queueOf(copy);
    queue.push(copy, false);
    this.scheduleDispatch(queue);
  }

  /** The queue `entry` waits in. */
  queueOf(entry: Entry): ModelQueue {
    return this.queue(entry.message.model, entry.reply ? 'calls' : entry.message.lane);
  }

  requeue(entry: Entry): void {
    entry.redelivered = true;
    const queue = this.queueOf(entry);
    queue.push(entry, true);
    this.scheduleDispatch(queue);
  }

  /** Keeps a dead-lettered message with its reason, as RabbitMQ's dead-letter queue would; the oldest go first when full. */
  deadLetter(message: TaskMessage, reason: string): void {
    const list = this.dead.get(message.model) ?? [];
    list.push({ message, reason });
    if (list.length > this.maxLength) list.shift();
    this.dead.set(message.model, list);
  }

  deadLetters(model: string): readonly DeadLetter[] {
    return this.dead.get(model) ?? [];
  }

  /** Requeues or discards the first dead letter of `taskId`; false when there is none. A full queue refuses the requeue, and the letter stays. */
  resolveDeadLetter(model: string, taskId: string, action: 'requeue' | 'discard'): boolean {
    const list = this.dead.get(model) ?? [];
    const index = list.findIndex((d) => d.message.taskId === taskId);
    if (index < 0) return false;
    if (action === 'requeue') this.publish(list[index]!.message);
    list.splice(index, 1);
    return true;
  }

  scheduleDispatch(queue: ModelQueue): void {
    if (this.dispatchScheduled.has(queue)) return;
    this.dispatchScheduled.add(queue);
    // Deliver on a later turn, as a network broker would: publish never runs a handler.
    setImmediate(() => {
      this.dispatchScheduled.delete(queue);
      this.dispatch(queue);
    });
  }

  private dispatch(queue: ModelQueue): void {
    for (;;) {
      if (queue.size === 0) return;
      const consumer = queue.pickConsumer();
      if (!consumer) return;
      const entry = queue.shift()!;
      consumer.unsettled.add(entry);
      consumer.client.deliver(consumer, entry);
    }
  }
}

export function removeConsumer(queue: ModelQueue, consumer: Consumer): void {
  const index = queue.consumers.indexOf(consumer);
  if (index >= 0) queue.consumers.splice(index, 1);
}
