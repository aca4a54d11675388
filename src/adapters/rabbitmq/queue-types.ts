import type { ChannelModel } from 'amqplib';
import type { Logger } from '../../ports/logger.js';

/** RabbitMQ's queue types this adapter declares: classic (priorities 0–9 on one node) or quorum (replicated by Raft). */
export type QueueType = 'classic' | 'quorum';

/** What a queue is declared with as each type. */
export type ArgumentsOf = (type: QueueType) => Record<string, unknown>;

/**
 * The type each queue is used as. A queue is declared as the configured
 * type, unless the broker already holds it as the other one: a queue's type
 * cannot change, and a declaration that disagrees is refused
 * (PRECONDITION_FAILED) and closes its channel. So a deployment restarted
 * with another `QUEUE_TYPE` keeps using the queues it has, as they are,
 * and says so once per queue; queues it creates from then on are of the new
 * type (docs/scaling.md, "Quorum queues", says how to move the old ones).
 *
 * Probing needs channels of its own, since a refused declaration kills the
 * channel it was made on: one per attempt, on the current connection. A
 * queue's type is learned once per process.
 */
export class QueueTypes {
  /** What was found, once found: read synchronously to route a publish. */
  private readonly known = new Map<string, QueueType>();
  /** Probes under way or done, so that channels declaring the same queue at once share one. */
  private readonly probes = new Map<string, Promise<QueueType>>();

  constructor(
    private readonly configured: QueueType,
    private readonly logger: Logger,
  ) {}

  /** The type a queue was found to be, once it was declared by this process; undefined before. */
  of(name: string): QueueType | undefined {
    return this.known.get(name);
  }

  /** Declares `name` as the configured type, or as the type the broker holds it as; rejects when neither declaration is accepted. */
  resolve(connection: ChannelModel, name: string, argumentsOf: ArgumentsOf): Promise<QueueType> {
    let probe = this.probes.get(name);
    if (!probe) {
      probe = this.probe(connection, name, argumentsOf).then((type) => (this.known.set(name, type), type));
      this.probes.set(name, probe);
      probe.catch(() => this.probes.delete(name));
    }
    return probe;
  }

  /** Forgets what was learned (a queue refused a declaration: it may have been replaced). */
  forget(): void {
    this.known.clear();
    this.probes.clear();
  }

  private async probe(connection: ChannelModel, name: string, argumentsOf: ArgumentsOf): Promise<QueueType> {
    const refusal = await declaredOn(connection, name, argumentsOf(this.configured));
    if (!refusal) return this.configured;
    if (!isPreconditionFailed(refusal)) throw refusal;
    const other = this.configured === 'classic' ? 'quorum' : 'classic';
    if (await declaredOn(connection, name, argumentsOf(other))) throw refusal;
    this.logger.warn('queue keeps the type it was created with, not the configured one', { queue: name, type: other, configured: this.configured });
    return other;
  }
}

/** Undefined when `name` is declared with `args` on a channel of its own; else the refusal. */
async function declaredOn(connection: ChannelModel, name: string, args: Record<string, unknown>): Promise<Error | undefined> {
  const channel = await connection.createChannel();
  // A refusal closes the channel with an error event as well as rejecting the call.
  channel.on('error', () => undefined);
  try {
    await channel.assertQueue(name, { durable: true, arguments: args });
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

export function isPreconditionFailed(error: unknown): boolean {
  return (error as { code?: unknown }).code === 406;
}
