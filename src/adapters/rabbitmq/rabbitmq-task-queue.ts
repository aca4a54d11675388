import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, GetMessage } from 'amqplib';
import { CapacityExceededError, ServiceUnavailableError, type Lane, type TaskMessage } from '../../domain/index.js';
import type {
  ConsumeOptions,
  DeadLetter,
  DeadLetterAction,
  Delivery,
  DeliveryHandler,
  QueueStats,
  Subscription,
  TaskQueue,
} from '../../ports/task-queue.js';
import { connectWithBackoff, type ConnectionOptions } from './connection.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { bulkQueueOf, DEAD_LETTER_REASON, deadLetterQueueOf, deadLetterWithReason, declareQueues, queueNameOf } from './topology.js';

export { queueNameOf };

/** How long an operation waits for a connection that is being re-established before giving up. */
const CONNECT_GRACE_MS = 500;
/** What a client is told to wait while the broker is away: reconnection attempts come at least this often. */
const RETRY_AFTER_SECONDS = 1;

export interface RabbitMqOptions extends ConnectionOptions {
  /** Told of each message this adapter dead-letters itself because it does not decode or is on the wrong queue. */
  readonly onMalformed?: (model: string) => void;
  /** Queue names chosen for some models; the others get `queuePrefix + model`. */
  readonly queueNames?: ReadonlyMap<string, string>;
  /** Default `embeddings.`. */
  readonly queuePrefix?: string;
  /** Waiting messages per queue before the broker refuses publishes (x-max-length, reject-publish). */
  readonly maxLength?: number;
  /** How long `publish` waits for the broker's confirm, including while reconnecting. */
  readonly publishTimeoutMs?: number;
}

/**
 * `TaskQueue` on RabbitMQ. One durable queue per model, with priorities 0–9,
 * its bulk lane beside it (`<queue>.bulk`), and a dead-letter queue (`<queue>.dead`) that receives messages nacked
 * without requeue, messages that do not decode, and messages on the wrong
 * model's queue. Messages are persistent and published on a confirm channel;
 * `publish` resolves on the broker's confirm.
 *
 * amqp-connection-manager reconnects after a broker restart or a dropped
 * connection (at once, then backing off to at most a second, see
 * connection.ts), declares the topology again and resumes the consumers.
 * While the broker is away, `publish` and `depth` fail within half a second.
 * Deliveries from a channel that has since died are not settled (the broker
 * has already requeued them): settling them on the new channel would be a
 * protocol error.
 */
export class RabbitMqTaskQueue implements TaskQueue {
  private readonly connection: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  private readonly declared = new Set<string>();
  private readonly consumerChannels = new Set<ChannelWrapper>();
  /** Dead-letter inspections run one after another, on a channel of their own made on first use. */
  private inspection: Promise<unknown> = Promise.resolve();
  private inspectorChannel: ChannelWrapper | undefined;
  private closed = false;

  constructor(private readonly options: RabbitMqOptions) {
    this.connection = connectWithBackoff(options);
    this.publisher = this.watch(
      this.connection.createChannel({
        name: 'publisher',
        confirm: true,
        publishTimeout: options.publishTimeoutMs ?? 5_000,
      }),
    );
  }

  /**
   * A channel wrapper emits 'error' when setting up a (re)connected channel
   * fails, for example when the connection closes mid-setup; unheard, that
   * event would crash the process. It is logged, and the wrapper retries on
   * the next connection.
   */
  private watch(channel: ChannelWrapper): ChannelWrapper {
    channel.on('error', (error: Error, context?: { name?: string }) => {
      if (!this.closed) this.options.logger.warn('RabbitMQ channel setup failed', { channel: context?.name, reason: error.message });
    });
    return channel;
  }

  queueName(model: string, lane: Lane = 'interactive'): string {
    const queue = queueNameOf(model, this.options);
    return lane === 'bulk' ? bulkQueueOf(queue) : queue;
  }

  deadLetterQueueName(model: string): string {
    return deadLetterQueueOf(this.queueName(model));
  }

  async publish(message: TaskMessage): Promise<void> {
    this.assertOpen();
    // Refuse at once while the broker is away, rather than holding the client for the publish timeout.
    await this.connected(CONNECT_GRACE_MS);
    await this.declare(this.publisher, message.model);
    try {
      await this.publisher.sendToQueue(this.queueName(message.model, message.lane), encodeMessage(message), {
        persistent: true,
        priority: message.priority,
        contentType: 'application/json',
        messageId: message.taskId,
        timestamp: Math.floor(message.enqueuedAt.getTime() / 1000),
      });
    } catch (error) {
      const reason = (error as Error).message;
      // With x-overflow=reject-publish, a full queue answers the confirm with a nack.
      if (/nack/i.test(reason)) {
        throw new CapacityExceededError(`The queue of model '${message.model}' is full.`);
      }
      throw new ServiceUnavailableError(`RabbitMQ did not confirm the task: ${reason}`, 2, { cause: error });
    }
  }

  async consume(model: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    this.assertOpen();
    // One channel per consumer, so that prefetch applies to it alone and a
    // channel error in one model's consumer does not stop the others.
    const generation = { value: 0 };
    const lane = options.lane ?? 'interactive';
    const channel = this.watch(
      this.connection.createChannel({
        name: lane === 'bulk' ? `consumer:${model}:bulk` : `consumer:${model}`,
        confirm: false,
        setup: async (ch: ConfirmChannel) => {
          generation.value++;
          await ch.prefetch(options.prefetch);
        },
      }),
    );
    this.consumerChannels.add(channel);
    await this.declare(channel, model);
    const queue = this.queueName(model, lane);
    const deadLetters = this.deadLetterQueueName(model);
    const log = this.options.logger.child({ queue, model });

    const { consumerTag } = await channel.consume(
      queue,
      (raw: ConsumeMessage) => {
        const born = generation.value;
        let settled = false;
        // A delivery from a channel that has since died is not settled: the broker requeued it already.
        const settle = (action: 'ack' | 'requeue' | 'reject') => {
          if (settled || generation.value !== born) return false;
          settled = true;
          if (action === 'ack') channel.ack(raw);
          else channel.nack(raw, false, action === 'requeue');
          return true;
        };
        const deadLetter = (reason: string) => deadLetterWithReason(this.publisher, raw, queue, deadLetters, reason, settle, log);
        const decoded = decodeMessage(raw.content);
        if (!decoded.ok || decoded.message.model !== model) {
          const reason = decoded.ok ? `model '${decoded.message.model}' does not belong on this queue` : `malformed: ${decoded.reason}`;
          log.warn('dead-lettering a malformed message', { reason, messageId: raw.properties.messageId });
          this.options.onMalformed?.(model);
          void deadLetter(reason);
          return;
        }
        const delivery: Delivery = {
          message: decoded.message,
          redelivered: raw.fields.redelivered,
          ack: async () => void settle('ack'),
          requeue: async () => void settle('requeue'),
          deadLetter,
        };
        Promise.resolve()
          .then(() => handler(delivery))
          .catch((error: unknown) => {
            log.warn('handler failed; requeueing', { taskId: decoded.message.taskId, err: error });
            settle('requeue');
          });
      },
      { noAck: false },
    );

    return {
      cancel: async () => {
        await channel.cancel(consumerTag).catch(() => undefined);
      },
    };
  }

  async depth(model: string): Promise<number> {
    this.assertOpen();
    await this.connected();
    await this.declare(this.publisher, model);
    try {
      const { messageCount } = await this.publisher.checkQueue(this.queueName(model));
      return messageCount;
    } catch (error) {
      throw new ServiceUnavailableError(`Cannot read the depth of ${this.queueName(model)}`, 2, { cause: error });
    }
  }

  async stats(model: string): Promise<QueueStats> {
    this.assertOpen();
    await this.connected();
    await this.declare(this.publisher, model);
    try {
      const [queue, dead] = await Promise.all([
        this.publisher.checkQueue(this.queueName(model)),
        this.publisher.checkQueue(this.deadLetterQueueName(model)),
      ]);
      return { ready: queue.messageCount, consumers: queue.consumerCount, deadLettered: dead.messageCount };
    } catch (error) {
      throw new ServiceUnavailableError(`Cannot read the queues of model '${model}'`, 2, { cause: error });
    }
  }

  /*
   * The dead-letter queue is read with basic.get, which takes messages
   * unacknowledged, and every message taken is given back (nack, requeue),
   * which puts it back where it was. One inspection at a time per client, so
   * that two do not take each other's messages.
   */

  async deadLetters(model: string, limit: number): Promise<DeadLetter[]> {
    return this.inspecting(model, async (take) => {
      const letters: DeadLetter[] = [];
      for (let i = 0; i < limit; i++) {
        const raw = await take();
        if (!raw) break;
        letters.push(toDeadLetter(raw));
      }
      return letters;
    });
  }

  async resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<boolean> {
    return this.inspecting(model, async (take, settle) => {
      // Taken messages stay taken until the end, so this walks the queue once, whatever its length.
      for (;;) {
        const raw = await take();
        if (!raw) return false;
        if (toDeadLetter(raw).message?.taskId !== taskId) continue;
        // On the model's queue (confirmed) before it leaves the dead-letter queue: a failure between leaves a copy, never none.
        if (action === 'requeue') await this.publish(decodeTaskMessage(raw));
        settle(raw);
        return true;
      }
      return false;
    });
  }

  private async inspecting<T>(
    model: string,
    work: (take: () => Promise<GetMessage | false>, settle: (raw: GetMessage) => void) => Promise<T>,
  ): Promise<T> {
    this.assertOpen();
    await this.connected();
    await this.declare(this.publisher, model);
    const run = this.inspection.then(async () => {
      const channel = await this.inspector();
      const queue = this.deadLetterQueueName(model);
      const taken: GetMessage[] = [];
      const settled = new Set<GetMessage>();
      try {
        return await work(
          async () => {
            const raw = await channel.get(queue, { noAck: false });
            if (raw) taken.push(raw);
            return raw;
          },
          (raw) => {
            channel.ack(raw);
            settled.add(raw);
          },
        );
      } catch (error) {
        throw error instanceof ServiceUnavailableError || error instanceof CapacityExceededError
          ? error
          : new ServiceUnavailableError(`Cannot read the dead letters of model '${model}'`, 2, { cause: error });
      } finally {
        for (const raw of taken) if (!settled.has(raw)) channel.nack(raw, false, true);
      }
    });
    this.inspection = run.catch(() => undefined);
    return run;
  }

  /** A channel of its own for basic.get, so that the publisher's confirms and the consumers' prefetch are left alone. */
  private async inspector(): Promise<ChannelWrapper> {
    if (!this.inspectorChannel) {
      this.inspectorChannel = this.watch(this.connection.createChannel({ name: 'dead-letter inspector', confirm: false }));
    }
    await this.inspectorChannel.waitForConnect();
    return this.inspectorChannel;
  }

  /** Names of the queues this client has declared (its model queues, their bulk lanes and their dead-letter queues). */
  declaredQueues(): string[] {
    const models = new Set([...this.declared].map((key) => key.slice(key.indexOf('|') + 1)));
    return [...models].flatMap((model) => [this.queueName(model), this.queueName(model, 'bulk'), this.deadLetterQueueName(model)]);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.connected();
  }

  /** Closes consumer channels first (their unsettled messages return to the queues), then the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumerChannels, ...(this.inspectorChannel ? [this.inspectorChannel] : [])].map((c) => c.close()));
    await this.publisher.close().catch(() => undefined);
    await this.connection.close();
  }

  /** Declares a model's queue and its dead-letter queue on this channel, now and after every reconnection. */
  private async declare(channel: ChannelWrapper, model: string): Promise<void> {
    const key = `${channel.name ?? ''}|${model}`;
    if (this.declared.has(key)) return;
    this.declared.add(key);
    try {
      await declareQueues(channel, this.queueName(model), this.options.maxLength);
    } catch (error) {
      this.declared.delete(key);
      throw error;
    }
  }

  /** Waits a moment for a client that is still (re)connecting before declaring RabbitMQ down. */
  private async connected(timeoutMs = CONNECT_GRACE_MS): Promise<void> {
    if (this.connection.isConnected()) return;
    let timer: NodeJS.Timeout | undefined;
    const connected = await Promise.race([
      this.publisher.waitForConnect().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
    ]).finally(() => clearTimeout(timer));
    if (!connected) throw new ServiceUnavailableError('Not connected to RabbitMQ.', RETRY_AFTER_SECONDS);
  }

  private assertOpen(): void {
    if (this.closed) throw new ServiceUnavailableError('The task queue is closed.');
  }
}

function toDeadLetter(raw: GetMessage): DeadLetter {
  const reason = raw.properties.headers?.[DEAD_LETTER_REASON];
  const decoded = decodeMessage(raw.content);
  return {
    reason: typeof reason === 'string' ? reason : reason instanceof Buffer ? reason.toString('utf8') : 'rejected by its consumer',
    ...(decoded.ok && { message: decoded.message }),
  };
}

function decodeTaskMessage(raw: GetMessage): TaskMessage {
  const decoded = decodeMessage(raw.content);
  if (!decoded.ok) throw new Error(`a malformed message cannot be requeued: ${decoded.reason}`);
  return decoded.message;
}
