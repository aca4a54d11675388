import type { ChannelWrapper } from 'amqp-connection-manager';
import type { GetMessage } from 'amqplib';
import { CapacityExceededError, ServiceUnavailableError, type TaskMessage } from '../../domain/index.js';
import type { DeadLetter, DeadLetterAction, QueueInspector, QueueStats } from '../../ports/queue-inspector.js';
import type { BrokerClient } from './broker-client.js';
import { decodeMessage } from './message-codec.js';
import { DEAD_LETTER_REASON } from './topology.js';

/**
 * `QueueInspector` on RabbitMQ: queue sizes from queue.declare (passive),
 * and the dead-letter queue read with basic.get, which takes messages
 * unacknowledged; every message taken is given back (nack, requeue), which
 * puts it back where it was. One inspection at a time per client, on a
 * channel of its own made on first use, so that two do not take each
 * other's messages and the publisher's confirms are left alone.
 */
export class RabbitMqQueueInspector implements QueueInspector {
  private inspection: Promise<unknown> = Promise.resolve();
  private channel: ChannelWrapper | undefined;

  /** `republish` puts a requeued dead letter back on its model's queue, resolving once the broker confirmed it. */
  constructor(
    private readonly client: BrokerClient,
    private readonly republish: (message: TaskMessage) => Promise<void>,
  ) {}

  async depth(model: string): Promise<number> {
    await this.client.ready(model);
    try {
      return (await this.waiting(model)).reduce((n, queue) => n + queue.messageCount, 0);
    } catch (error) {
      throw new ServiceUnavailableError(`Cannot read the depth of ${this.client.queueName(model)}`, 2, { cause: error });
    }
  }

  async stats(model: string): Promise<QueueStats> {
    await this.client.ready(model);
    try {
      const [waiting, dead] = await Promise.all([this.waiting(model), this.client.publisher.checkQueue(this.client.deadLetterQueueName(model))]);
      // The model's own queue first: its consumers are the workers, one each.
      return { ready: waiting.reduce((n, queue) => n + queue.messageCount, 0), consumers: waiting[0]!.consumerCount, deadLettered: dead.messageCount };
    } catch (error) {
      throw new ServiceUnavailableError(`Cannot read the queues of model '${model}'`, 2, { cause: error });
    }
  }

  /** The model's interactive queues (see `interactiveQueuesOf`), its own first. */
  private waiting(model: string) {
    return Promise.all(this.client.interactiveQueueNames(model).map((name) => this.client.publisher.checkQueue(name)));
  }

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
        if (action === 'requeue') await this.republish(decodeTaskMessage(raw));
        settle(raw);
        return true;
      }
    });
  }

  private async inspecting<T>(
    model: string,
    work: (take: () => Promise<GetMessage | false>, settle: (raw: GetMessage) => void) => Promise<T>,
  ): Promise<T> {
    await this.client.ready(model);
    const run = this.inspection.then(async () => {
      const channel = await this.inspector();
      const queue = this.client.deadLetterQueueName(model);
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

  private async inspector(): Promise<ChannelWrapper> {
    this.channel ??= this.client.channel({ name: 'dead-letter inspector', confirm: false });
    await this.channel.waitForConnect();
    return this.channel;
  }
}

/**
 * Why a message is dead: the reason this adapter wrote on it, else the
 * broker's (its first `x-death` entry: `rejected` by a consumer,
 * `delivery_limit` on a quorum queue, `expired`, `maxlen`).
 */
function toDeadLetter(raw: GetMessage): DeadLetter {
  const reason = raw.properties.headers?.[DEAD_LETTER_REASON];
  const decoded = decodeMessage(raw.content);
  return {
    reason: typeof reason === 'string' ? reason : reason instanceof Buffer ? reason.toString('utf8') : brokerReason(raw),
    ...(decoded.ok && { message: decoded.message }),
  };
}

const BROKER_REASONS: Readonly<Record<string, string>> = {
  rejected: 'rejected by its consumer',
  delivery_limit: 'delivered more times than the queue’s delivery limit: its consumers kept failing or dying on it',
  expired: 'expired before a worker took it',
  maxlen: 'dropped from a full queue',
};

function brokerReason(raw: GetMessage): string {
  const deaths: unknown = raw.properties.headers?.['x-death'];
  const first: unknown = Array.isArray(deaths) ? deaths[0] : undefined;
  const reason = String((first as { reason?: unknown } | undefined)?.reason ?? 'rejected');
  return BROKER_REASONS[reason] ?? reason;
}

function decodeTaskMessage(raw: GetMessage): TaskMessage {
  const decoded = decodeMessage(raw.content);
  if (!decoded.ok) throw new Error(`a malformed message cannot be requeued: ${decoded.reason}`);
  return decoded.message;
}
