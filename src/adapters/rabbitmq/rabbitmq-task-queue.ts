import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  CapacityExceededError,
  MAX_PRIORITY,
  ServiceUnavailableError,
  type TaskMessage,
} from '../../domain/index.js';
import type { Logger } from '../../ports/logger.js';
import type { ConsumeOptions, Delivery, Subscription, TaskQueue } from '../../ports/task-queue.js';
import { decodeMessage, encodeMessage } from './message-codec.js';

export interface RabbitMqOptions {
  /** amqp:// or amqps:// URL, credentials and vhost included. */
  readonly url: string;
  /** Queue names chosen for some models; the others get `queuePrefix + model`. */
  readonly queueNames?: ReadonlyMap<string, string>;
  /** Default `embeddings.`. */
  readonly queuePrefix?: string;
  /** Waiting messages per queue before the broker refuses publishes (x-max-length, reject-publish). */
  readonly maxLength?: number;
  /** How long `publish` waits for the broker's confirm, including while reconnecting. */
  readonly publishTimeoutMs?: number;
  /** Delay between reconnection attempts. */
  readonly reconnectSeconds?: number;
  readonly heartbeatSeconds?: number;
  /** How the broker's tools name this client's connection (the `connection_name` client property). */
  readonly connectionName?: string;
  readonly logger: Logger;
}

const MAX_RECONNECT_SECONDS = 30;

/** A model's queue: the name chosen for it, else `queuePrefix` (default `embeddings.`) and the model id. */
export function queueNameOf(model: string, options: Pick<RabbitMqOptions, 'queueNames' | 'queuePrefix'>): string {
  return options.queueNames?.get(model) ?? `${options.queuePrefix ?? 'embeddings.'}${model}`;
}

/**
 * `TaskQueue` on RabbitMQ. One durable queue per model, with priorities 0–9
 * and a dead-letter queue (`<queue>.dead`) that receives messages nacked
 * without requeue, messages that do not decode, and messages on the wrong
 * model's queue. Messages are persistent and published on a confirm channel;
 * `publish` resolves on the broker's confirm.
 *
 * amqp-connection-manager reconnects after a broker restart or a dropped
 * connection (with a delay that doubles while the broker stays away),
 * declares the topology again and resumes the consumers.
 * Deliveries from a channel that has since died are not settled (the broker
 * has already requeued them): settling them on the new channel would be a
 * protocol error.
 */
export class RabbitMqTaskQueue implements TaskQueue {
  private readonly connection: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  private readonly declared = new Set<string>();
  private readonly consumerChannels = new Set<ChannelWrapper>();
  private readonly generations = new WeakMap<ChannelWrapper, { value: number }>();
  private closed = false;

  constructor(private readonly options: RabbitMqOptions) {
    this.connection = amqp.connect([options.url], {
      reconnectTimeInSeconds: options.reconnectSeconds ?? 1,
      heartbeatIntervalInSeconds: options.heartbeatSeconds ?? 5,
      connectionOptions: { clientProperties: { connection_name: options.connectionName ?? 'embedding-service' } },
    });
    // Reconnection backs off: each failed attempt doubles the delay (up to 30 s); a success resets it.
    const firstDelay = options.reconnectSeconds ?? 1;
    this.connection.on('connect', () => {
      this.connection.reconnectTimeInSeconds = firstDelay;
      options.logger.info('connected to RabbitMQ');
    });
    this.connection.on('disconnect', ({ err }) =>
      options.logger.warn('disconnected from RabbitMQ; reconnecting', { reason: err?.message }),
    );
    this.connection.on('connectFailed', ({ err }) => {
      this.connection.reconnectTimeInSeconds = Math.min(this.connection.reconnectTimeInSeconds * 2, MAX_RECONNECT_SECONDS);
      options.logger.warn('cannot reach RabbitMQ; retrying', {
        reason: err?.message,
        retryInSeconds: this.connection.reconnectTimeInSeconds,
      });
    });
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

  queueName(model: string): string {
    return queueNameOf(model, this.options);
  }

  deadLetterQueueName(model: string): string {
    return `${this.queueName(model)}.dead`;
  }

  async publish(message: TaskMessage): Promise<void> {
    this.assertOpen();
    await this.declare(this.publisher, message.model);
    try {
      await this.publisher.sendToQueue(this.queueName(message.model), encodeMessage(message), {
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

  async consume(
    model: string,
    handler: (delivery: Delivery) => Promise<void>,
    options: ConsumeOptions,
  ): Promise<Subscription> {
    this.assertOpen();
    // One channel per consumer, so that prefetch applies to it alone and a
    // channel error in one model's consumer does not stop the others.
    const generation = { value: 0 };
    const channel = this.watch(
      this.connection.createChannel({
        name: `consumer:${model}`,
        confirm: false,
        setup: async (ch: ConfirmChannel) => {
          generation.value++;
          await ch.prefetch(options.prefetch);
        },
      }),
    );
    this.generations.set(channel, generation);
    this.consumerChannels.add(channel);
    await this.declare(channel, model);
    const queue = this.queueName(model);
    const log = this.options.logger.child({ queue, model });

    const { consumerTag } = await channel.consume(
      queue,
      (raw: ConsumeMessage) => {
        const born = generation.value;
        const settle = once((action: 'ack' | 'requeue' | 'dead') => {
          if (generation.value !== born) return; // that channel died; the broker requeued the message
          if (action === 'ack') channel.ack(raw);
          else channel.nack(raw, false, action === 'requeue');
        });
        const decoded = decodeMessage(raw.content);
        if (!decoded.ok || decoded.message.model !== model) {
          const reason = decoded.ok ? `model '${decoded.message.model}' does not belong on this queue` : decoded.reason;
          log.warn('dead-lettering a malformed message', { reason, messageId: raw.properties.messageId });
          settle('dead');
          return;
        }
        const delivery: Delivery = {
          message: decoded.message,
          redelivered: raw.fields.redelivered,
          ack: async () => settle('ack'),
          nack: async ({ requeue }) => settle(requeue ? 'requeue' : 'dead'),
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

  /** Names of the queues this client has declared (its model queues and their dead-letter queues). */
  declaredQueues(): string[] {
    const models = new Set([...this.declared].map((key) => key.slice(key.indexOf('|') + 1)));
    return [...models].flatMap((model) => [this.queueName(model), this.deadLetterQueueName(model)]);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.connected();
  }

  /** Closes consumer channels first (their unsettled messages return to the queues), then the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.consumerChannels].map((c) => c.close()));
    await this.publisher.close().catch(() => undefined);
    await this.connection.close();
  }

  /**
   * Declares a model's queue and its dead-letter queue on this channel, now
   * and after every reconnection. Declaring is idempotent as long as the
   * arguments match what the broker has.
   */
  private async declare(channel: ChannelWrapper, model: string): Promise<void> {
    const key = `${channel.name ?? ''}|${model}`;
    if (this.declared.has(key)) return;
    this.declared.add(key);
    const queue = this.queueName(model);
    const deadLetters = this.deadLetterQueueName(model);
    const args: Record<string, unknown> = {
      'x-max-priority': MAX_PRIORITY,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetters,
    };
    if (this.options.maxLength !== undefined) {
      args['x-max-length'] = this.options.maxLength;
      args['x-overflow'] = 'reject-publish';
    }
    try {
      await channel.addSetup(async (ch: ConfirmChannel) => {
        await ch.assertQueue(deadLetters, { durable: true });
        await ch.assertQueue(queue, { durable: true, arguments: args });
      });
    } catch (error) {
      this.declared.delete(key);
      throw new ServiceUnavailableError(`Cannot declare queue ${queue}: ${(error as Error).message}`, 2, { cause: error });
    }
  }

  /** Waits a moment for a client that is still (re)connecting before declaring RabbitMQ down. */
  private async connected(timeoutMs = 1_000): Promise<void> {
    if (this.connection.isConnected()) return;
    let timer: NodeJS.Timeout | undefined;
    const connected = await Promise.race([
      this.publisher.waitForConnect().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
    ]).finally(() => clearTimeout(timer));
    if (!connected) throw new ServiceUnavailableError('Not connected to RabbitMQ.');
  }

  private assertOpen(): void {
    if (this.closed) throw new ServiceUnavailableError('The task queue is closed.');
  }
}

function once<A>(fn: (arg: A) => void): (arg: A) => void {
  let done = false;
  return (arg) => {
    if (done) return;
    done = true;
    fn(arg);
  };
}
