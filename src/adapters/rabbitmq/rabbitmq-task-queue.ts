import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { TaskMessage } from '../../domain/index.js';
import type { CallAnswer, ConsumeOptions, DeadLetter, DeadLetterAction, Delivery, DeliveryHandler, QueueStats, Subscription, TaskQueue } from '../../ports/task-queue.js';
import { BrokerClient, CONNECT_GRACE_MS, type RabbitMqOptions } from './broker-client.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import { RabbitMqQueueInspector } from './queue-inspector.js';
import { RabbitMqCalls } from './rabbitmq-calls.js';
import { callReply, type Replies } from './call-replies.js';
import { tracedDelivery, tracedPublish } from './message-spans.js';
import { callsQueueOf, deadLetterWithReason, queueNameOf } from './topology.js';

export { callsQueueOf, queueNameOf };
export type { RabbitMqOptions };

/**
 * `TaskQueue` on RabbitMQ. One durable queue per model, with priorities 0–9,
 * its bulk lane beside it (`<queue>.bulk`), its calls' queue (`<queue>.calls`), and a dead-letter queue (`<queue>.dead`) that receives messages nacked
 * without requeue, messages that do not decode, and messages on the wrong
 * model's queue. As quorum queues (`queueType`), replicated over a
 * cluster's nodes, priorities come in two classes instead (see
 * `HIGH_PRIORITY_FROM`), and the broker dead-letters a message delivered
 * more than `deliveryLimit` times. Messages are persistent and published on a confirm channel;
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
  private readonly client: BrokerClient;
  private readonly inspector: RabbitMqQueueInspector;
  private readonly calls: RabbitMqCalls;
  private readonly replies: Replies;

  constructor(options: RabbitMqOptions) {
    this.client = new BrokerClient(options);
    this.inspector = new RabbitMqQueueInspector(this.client, (message) => this.publish(message));
    this.calls = new RabbitMqCalls(this.client);
    this.replies = { client: this.client, channel: undefined };
  }

  queueName(...args: Parameters<BrokerClient['queueName']>): string {
    return this.client.queueName(...args);
  }

  deadLetterQueueName(model: string): string {
    return this.client.deadLetterQueueName(model);
  }

  /** Names of the queues this client has declared (its model queues, their bulk lanes and their dead-letter queues). */
  declaredQueues(): string[] {
    return this.client.declaredQueues();
  }

  async publish(message: TaskMessage): Promise<void> {
    // Refuse at once while the broker is away, rather than holding the client for the publish timeout.
    await this.client.ready(message.model, CONNECT_GRACE_MS);
    const queue = this.queueName(message.model, message.lane, message.priority);
    await tracedPublish(this.client.options.tracing, queue, message, async (headers) => {
      try {
        await this.client.publisher.sendToQueue(queue, encodeMessage(message), {
          persistent: true,
          priority: message.priority,
          contentType: 'application/json',
          messageId: message.taskId,
          timestamp: Math.floor(message.enqueuedAt.getTime() / 1000),
          ...(headers && { headers }),
        });
      } catch (error) {
        throw await this.client.refusal(error, message.model, queue);
      }
    });
  }

  call(message: TaskMessage, signal: AbortSignal): Promise<CallAnswer> {
    return this.calls.call(message, signal);
  }

  async consume(model: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    this.client.assertOpen();
    if (options.lane === 'bulk') return this.consumeQueue(model, this.queueName(model, 'bulk'), `consumer:${model}:bulk`, handler, options.prefetch);
    // Each of the model's interactive queues with a consumer (and a prefetch) of its own: calls never wait behind tasks, nor high priorities behind normal ones.
    const subscriptions: Subscription[] = [];
    for (const queue of this.client.interactiveQueueNames(model)) {
      subscriptions.push(await this.consumeQueue(model, queue, `consumer:${queue}`, handler, options.prefetch));
    }
    return { cancel: async () => void (await Promise.all(subscriptions.map((s) => s.cancel()))) };
  }

  private async consumeQueue(model: string, queue: string, name: string, handler: DeliveryHandler, prefetch: number): Promise<Subscription> {
    // One channel per consumer, so that prefetch applies to it alone and a
    // channel error in one model's consumer does not stop the others.
    const generation = { value: 0 };
    const channel = this.client.channel({
      name,
      confirm: false,
      setup: async (ch: ConfirmChannel) => {
        generation.value++;
        await ch.prefetch(prefetch);
      },
    });
    await this.client.declare(channel, model);
    const deadLetters = this.deadLetterQueueName(model);
    const log = this.client.options.logger.child({ queue, model });

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
        const deadLetter = (reason: string) => deadLetterWithReason(this.client.publisher, raw, queue, deadLetters, reason, settle, log);
        const decoded = decodeMessage(raw.content);
        if (!decoded.ok || decoded.message.model !== model) {
          const reason = decoded.ok ? `model '${decoded.message.model}' does not belong on this queue` : `malformed: ${decoded.reason}`;
          log.warn('dead-lettering a malformed message', { reason, messageId: raw.properties.messageId });
          this.client.options.onMalformed?.(model);
          void deadLetter(reason);
          return;
        }
        const delivery: Delivery = {
          message: decoded.message,
          redelivered: raw.fields.redelivered,
          ack: async () => void settle('ack'),
          requeue: async () => void settle('requeue'),
          deadLetter,
          ...(raw.properties.replyTo && { call: callReply(this.replies, raw, decoded.message, queue, settle, log) }),
        };
        Promise.resolve()
          .then(() => tracedDelivery(this.client.options.tracing, queue, raw, decoded.message, () => handler(delivery)))
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

  depth(model: string): Promise<number> {
    return this.inspector.depth(model);
  }

  stats(model: string): Promise<QueueStats> {
    return this.inspector.stats(model);
  }

  deadLetters(model: string, limit: number): Promise<DeadLetter[]> {
    return this.inspector.deadLetters(model, limit);
  }

  resolveDeadLetter(model: string, taskId: string, action: DeadLetterAction): Promise<boolean> {
    return this.inspector.resolveDeadLetter(model, taskId, action);
  }

  async ping(): Promise<void> {
    await this.client.ready();
  }

  /** Closes consumer channels first (their unsettled messages return to the queues), then the connection. */
  close(): Promise<void> {
    this.calls.close();
    return this.client.close();
  }
}
