import type { Tracing } from '../../ports/tracing.js';
import type { AmqpConnectionManager, ChannelWrapper, CreateChannelOpts } from 'amqp-connection-manager';
import { ServiceUnavailableError, type Lane } from '../../domain/index.js';
import { connectWithBackoff, type ConnectionOptions } from './connection.js';
import { bulkQueueOf, callsQueueOf, deadLetterQueueOf, declareQueues, queueNameOf } from './topology.js';

/** How long an operation waits for a connection that is being re-established before giving up. */
export const CONNECT_GRACE_MS = 500;
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
  /** Spans for publishing, consuming and answering, whose context each message carries in its headers; none without. */
  readonly tracing?: Tracing;
}

/**
 * One connection to the broker and what every part of the queue adapter
 * shares over it: the confirm channel that publishes and reads queue
 * sizes, the names of a model's queues, their declaration (once per
 * channel, again after every reconnection), and the fast refusal while the
 * broker is away. Channels made here are closed with the client.
 */
export class BrokerClient {
  readonly publisher: ChannelWrapper;
  private readonly connection: AmqpConnectionManager;
  /** Declarations made or under way, by channel and model: a caller that asks during one waits for it. */
  private readonly declared = new Map<string, Promise<void>>();
  private readonly channels = new Set<ChannelWrapper>();
  private closed = false;

  constructor(readonly options: RabbitMqOptions) {
    this.connection = connectWithBackoff(options);
    this.publisher = this.watch(
      this.connection.createChannel({ name: 'publisher', confirm: true, publishTimeout: options.publishTimeoutMs ?? 5_000 }),
    );
  }

  /** A channel of its own (a consumer's, the inspector's), closed before the connection. */
  channel(options: CreateChannelOpts): ChannelWrapper {
    const channel = this.watch(this.connection.createChannel(options));
    this.channels.add(channel);
    return channel;
  }

  queueName(model: string, lane: Lane = 'interactive'): string {
    const queue = queueNameOf(model, this.options);
    return lane === 'bulk' ? bulkQueueOf(queue) : queue;
  }

  /** Where a model's calls wait (see `callsQueueOf`). */
  callsQueueName(model: string): string {
    return callsQueueOf(this.queueName(model));
  }

  deadLetterQueueName(model: string): string {
    return deadLetterQueueOf(this.queueName(model));
  }

  /** Names of the queues this client has declared (its model queues, their bulk lanes, calls' queues and dead-letter queues). */
  declaredQueues(): string[] {
    const models = new Set([...this.declared.keys()].map((key) => key.slice(key.indexOf('|') + 1)));
    return [...models].flatMap((model) => [this.queueName(model), this.queueName(model, 'bulk'), this.callsQueueName(model), this.deadLetterQueueName(model)]);
  }

  /** Declares a model's queue and its dead-letter queue on this channel, now and after every reconnection. */
  async declare(channel: ChannelWrapper, model: string): Promise<void> {
    const key = `${channel.name ?? ''}|${model}`;
    let declaring = this.declared.get(key);
    if (!declaring) {
      declaring = declareQueues(channel, this.queueName(model), this.options.maxLength);
      this.declared.set(key, declaring);
      declaring.catch(() => this.declared.delete(key));
    }
    await declaring;
  }

  /** Open, connected (after a moment's grace for a client that is still reconnecting), and the model's queues declared. */
  async ready(model?: string, timeoutMs = CONNECT_GRACE_MS): Promise<void> {
    this.assertOpen();
    await this.connected(timeoutMs);
    if (model !== undefined) await this.declare(this.publisher, model);
  }

  assertOpen(): void {
    if (this.closed) throw new ServiceUnavailableError('The task queue is closed.');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the other channels first (their unsettled messages return to the queues), then the publisher and the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.channels].map((c) => c.close()));
    await this.publisher.close().catch(() => undefined);
    await this.connection.close();
  }

  private async connected(timeoutMs: number): Promise<void> {
    if (this.connection.isConnected()) return;
    let timer: NodeJS.Timeout | undefined;
    const connected = await Promise.race([
      this.publisher.waitForConnect().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false))),
    ]).finally(() => clearTimeout(timer));
    if (!connected) throw new ServiceUnavailableError('Not connected to RabbitMQ.', RETRY_AFTER_SECONDS);
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
}
