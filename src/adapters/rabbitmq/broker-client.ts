import type { Tracing } from '../../ports/tracing.js';
import type { AmqpConnectionManager, ChannelWrapper, CreateChannelOpts } from 'amqp-connection-manager';
import { CapacityExceededError, ServiceUnavailableError, type Lane } from '../../domain/index.js';
import { connectWithBackoff, type ConnectionOptions } from './connection.js';
import { isPreconditionFailed, QueueTypes, type ArgumentsOf, type QueueType } from './queue-types.js';
import { bulkQueueOf, callsQueueOf, deadLetterQueueOf, declareQueues, DEFAULT_DELIVERY_LIMIT, HIGH_PRIORITY_FROM, highQueueOf, interactiveQueuesOf, queueNameOf } from './topology.js';

/** How long an operation waits for a connection that is being re-established before giving up. */
export const CONNECT_GRACE_MS = 500;
/** What a client is told to wait while the broker is away: reconnection attempts come at least this often. */
const RETRY_AFTER_SECONDS = 1;
/** The least time between two reconnections forced by refused publishes (see `refusal`). */
const FORCED_RECONNECT_INTERVAL_MS = 1_000;

export interface RabbitMqOptions extends ConnectionOptions {
  /** Told of each message this adapter dead-letters itself because it does not decode or is on the wrong queue. */
  readonly onMalformed?: (model: string) => void;
  /** Queue names chosen for some models; the others get `queuePrefix + model`. */
  readonly queueNames?: ReadonlyMap<string, string>;
  /** Default `embeddings.`. */
  readonly queuePrefix?: string;
  /** Waiting messages per queue before the broker refuses publishes (x-max-length, reject-publish). */
  readonly maxLength?: number;
  /** The type new queues are declared as; default classic. Queues the broker already holds keep theirs (see `QueueTypes`). */
  readonly queueType?: QueueType;
  /** Quorum queues: deliveries of a message before the broker dead-letters it; default `DEFAULT_DELIVERY_LIMIT`. */
  readonly deliveryLimit?: number;
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
  private readonly types: QueueTypes;
  private lastForcedReconnect = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(readonly options: RabbitMqOptions) {
    this.types = new QueueTypes(this.queueType, options.logger);
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

  get queueType(): QueueType {
    return this.options.queueType ?? 'classic';
  }

  /** Where a model's task of `lane` and `priority` waits (its high queue only once the model's queue is known to be a quorum queue). */
  queueName(model: string, lane: Lane = 'interactive', priority?: number): string {
    const queue = queueNameOf(model, this.options);
    if (lane === 'bulk') return bulkQueueOf(queue);
    return this.routesHigh(queue, priority) ? highQueueOf(queue) : queue;
  }

  /** Where a model's calls of `priority` wait (see `callsQueueOf`). */
  callsQueueName(model: string, priority?: number): string {
    const queue = queueNameOf(model, this.options);
    const calls = callsQueueOf(queue);
    return this.routesHigh(queue, priority) ? highQueueOf(calls) : calls;
  }

  /** Every queue that a model's interactive consumers take from. */
  interactiveQueueNames(model: string): string[] {
    return interactiveQueuesOf(queueNameOf(model, this.options), this.queueType);
  }

  /**
   * High priorities go to a high queue only where both hold: this
   * deployment consumes high queues (quorum configured), and the model's
   * queue is a quorum queue (a classic one, kept from before, has priorities of its own).
   */
  private routesHigh(queue: string, priority: number | undefined): boolean {
    return priority !== undefined && priority >= HIGH_PRIORITY_FROM && this.queueType === 'quorum' && this.types.of(queue) === 'quorum';
  }

  deadLetterQueueName(model: string): string {
    return deadLetterQueueOf(this.queueName(model));
  }

  /** Names of the queues this client has declared (its model queues, their bulk lanes, calls' queues and dead-letter queues). */
  declaredQueues(): string[] {
    const models = new Set([...this.declared.keys()].map((key) => key.slice(key.indexOf('|') + 1)));
    return [...models].flatMap((model) => [...this.interactiveQueueNames(model), this.queueName(model, 'bulk'), this.deadLetterQueueName(model)]);
  }

  /** Declares a model's queue and its dead-letter queue on this channel, now and after every reconnection. */
  async declare(channel: ChannelWrapper, model: string): Promise<void> {
    const key = declarationKey(channel, model);
    let declaring = this.declared.get(key);
    if (!declaring) {
      const settings = { type: this.queueType, maxLength: this.options.maxLength, deliveryLimit: this.options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT };
      declaring = declareQueues(channel, this.queueName(model), settings, (name, argumentsOf) => this.resolveType(name, argumentsOf));
      this.declared.set(key, declaring);
      declaring.catch(() => this.declared.delete(key));
    }
    await declaring;
  }

  /** Open, connected (after a moment's grace for a client that is still reconnecting), and the model's queues declared. */
  async ready(model?: string, timeoutMs = CONNECT_GRACE_MS): Promise<void> {
    this.assertOpen();
    // Once the model's queues are declared, the connection is enough: a message published meanwhile waits for the channel.
    const declared = model !== undefined && this.declared.has(declarationKey(this.publisher, model));
    if (!declared || !this.connection.isConnected()) await this.connected(timeoutMs);
    if (model !== undefined) await this.declare(this.publisher, model);
  }

  /** Called in a channel's setup, so while connected. */
  private resolveType(name: string, argumentsOf: ArgumentsOf): Promise<QueueType> {
    const connection = this.connection.connection;
    if (!connection) throw new ServiceUnavailableError('Not connected to RabbitMQ.', RETRY_AFTER_SECONDS);
    return this.types.resolve(connection, name, argumentsOf);
  }

  /**
   * What a refused publish to `queue` means for its caller. A nack from a
   * classic queue is a full queue (x-overflow=reject-publish). From a quorum
   * queue it may be that too, or a channel that published while the queue
   * had no leader (its node lost): RabbitMQ 3.10 goes on refusing every
   * publish on such a channel after a new leader is elected, while a new
   * channel's are accepted. So the queue's length decides: short of the
   * limit, the connection is made again, with all its channels, and the
   * caller is told to retry (503).
   */
  async refusal(error: unknown, model: string, queue: string): Promise<Error> {
    const reason = (error as Error).message;
    if (!/nack/i.test(reason)) return new ServiceUnavailableError(`RabbitMQ did not confirm the task: ${reason}`, 2, { cause: error });
    const full = new CapacityExceededError(`The queue of model '${model}' is full.`);
    if (this.types.of(queueNameOf(model, this.options)) !== 'quorum' || (await this.isFull(queue))) return full;
    if (performance.now() - this.lastForcedReconnect >= FORCED_RECONNECT_INTERVAL_MS && !this.closed) {
      this.lastForcedReconnect = performance.now();
      this.options.logger.warn('a quorum queue refused a publish it has room for; reconnecting, for channels that know its leader', { queue });
      this.connection.reconnect();
    }
    return new ServiceUnavailableError(`The queue of model '${model}' is changing leader; retry.`, RETRY_AFTER_SECONDS, { cause: error });
  }

  private async isFull(queue: string): Promise<boolean> {
    if (this.options.maxLength === undefined) return false;
    const { messageCount } = await this.publisher.checkQueue(queue).catch(() => ({ messageCount: 0 }));
    return messageCount >= this.options.maxLength;
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

  /**
   * The publisher's channel open and set up, not just the connection: a
   * declaration added while the channel is still being opened would only
   * run once it is, and a message published to a queue not yet declared is
   * dropped by the broker (unroutable) though confirmed.
   */
  private async connected(timeoutMs: number): Promise<void> {
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
      // A queue that refuses its declaration may have been replaced by one of another type: learn the types again.
      if (isPreconditionFailed(error)) this.types.forget();
      if (!this.closed) this.options.logger.warn('RabbitMQ channel setup failed', { channel: context?.name, reason: error.message });
    });
    return channel;
  }
}

function declarationKey(channel: ChannelWrapper, model: string): string {
  return `${channel.name ?? ''}|${model}`;
}
