import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../ports/logger.js';
import { MAX_PRIORITY, ServiceUnavailableError } from '../../domain/index.js';
import type { ArgumentsOf, QueueType } from './queue-types.js';

/** A model's queue: the name chosen for it, else `queuePrefix` (default `embeddings.`) and the model id. */
export function queueNameOf(
  model: string,
  options: { readonly queueNames?: ReadonlyMap<string, string>; readonly queuePrefix?: string },
): string {
  return options.queueNames?.get(model) ?? `${options.queuePrefix ?? 'embeddings.'}${model}`;
}

export function deadLetterQueueOf(queue: string): string {
  return `${queue}.dead`;
}

/**
 * A model's calls (`TaskCaller`): a queue of their own beside the model's,
 * consumed with the interactive lane but under its own prefetch, so that a
 * call never waits behind tasks a worker holds while their store is away.
 */
export function callsQueueOf(queue: string): string {
  return `${queue}.calls`;
}

/** A model's bulk lane: a queue of its own beside the model's, sharing its dead-letter queue. */
export function bulkQueueOf(queue: string): string {
  return `${queue}.bulk`;
}

/**
 * On quorum queues, which have no priorities on RabbitMQ 3.10, a model's
 * interactive queue and its calls' queue each have a high queue beside them
 * (`<queue>.high`) that takes priorities 5–9, consumed beside the normal one
 * with a prefetch of its own: a high-priority message never waits behind
 * the normal queue's backlog at the broker. These are the two classes
 * RabbitMQ 4 gives quorum queues (0–4 normal, 5 and above high); within what
 * a worker holds, its batcher orders all ten.
 */
export const HIGH_PRIORITY_FROM = 5;

export function highQueueOf(queue: string): string {
  return `${queue}.high`;
}

/** How a deployment's queues are declared. */
export interface QueueSettings {
  readonly type: QueueType;
  /** Waiting messages per queue before the broker refuses publishes. */
  readonly maxLength?: number | undefined;
  /** Quorum queues: deliveries of a message (the first and each return) before the broker dead-letters it. */
  readonly deliveryLimit: number;
}

/** RabbitMQ 4's default for quorum queues: well above a task's attempts, so only a message that keeps killing its consumers reaches it. */
export const DEFAULT_DELIVERY_LIMIT = 20;

/**
 * A model's queue, its calls', its bulk lane's and (on quorum queues)
 * its high queues', as `type`. A classic queue has priorities 0–9. A
 * quorum queue has a delivery limit, and dead-letters at least once (the
 * broker keeps a message until its dead-letter queue confirmed it), which
 * needs reject-publish. With `maxLength`, a full queue refuses publishes
 * rather than dropping the oldest.
 */
export function workQueueArguments(type: QueueType, deadLetters: string, settings: QueueSettings): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadLetters };
  if (type === 'quorum') {
    Object.assign(args, {
      'x-queue-type': 'quorum',
      'x-delivery-limit': settings.deliveryLimit,
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
  } else {
    args['x-max-priority'] = MAX_PRIORITY;
  }
  if (settings.maxLength !== undefined) Object.assign(args, { 'x-max-length': settings.maxLength, 'x-overflow': 'reject-publish' });
  return args;
}

function deadLetterQueueArguments(type: QueueType): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

/** Where a model's interactive work waits: its queue and its calls' queue, and on quorum queues their high queues. */
export function interactiveQueuesOf(queue: string, type: QueueType): string[] {
  const queues = [queue, callsQueueOf(queue)];
  return type === 'quorum' ? [...queues, ...queues.map(highQueueOf)] : queues;
}

/**
 * Declares a model's durable queues (see `interactiveQueuesOf`, and its
 * bulk lane) and their dead-letter queue on a channel: now, and again after
 * every reconnection (a channel setup). Each is declared as the type
 * `resolve` finds for it (see `QueueTypes`). Declaring is idempotent as
 * long as the arguments match what the broker has.
 */
export async function declareQueues(
  channel: ChannelWrapper,
  queue: string,
  settings: QueueSettings,
  resolve: (name: string, argumentsOf: ArgumentsOf) => Promise<QueueType>,
): Promise<void> {
  const deadLetters = deadLetterQueueOf(queue);
  const work: ArgumentsOf = (type) => workQueueArguments(type, deadLetters, settings);
  const plan: [string, ArgumentsOf][] = [
    [deadLetters, deadLetterQueueArguments],
    ...[...interactiveQueuesOf(queue, settings.type), bulkQueueOf(queue)].map((name): [string, ArgumentsOf] => [name, work]),
  ];
  try {
    await channel.addSetup(async (ch: ConfirmChannel) => {
      for (const [name, argumentsOf] of plan) await ch.assertQueue(name, { durable: true, arguments: argumentsOf(await resolve(name, argumentsOf)) });
    });
  } catch (error) {
    throw new ServiceUnavailableError(`Cannot declare queue ${queue}: ${(error as Error).message}`, 2, { cause: error });
  }
}

/** Headers of a dead letter: why it is there, and which queue it came from. */
export const DEAD_LETTER_REASON = 'x-dead-letter-reason';
export const DEAD_LETTER_QUEUE = 'x-original-queue';

/**
 * Puts a copy of a delivered message on its dead-letter queue with `reason`
 * (and the queue it came from) in its headers, confirmed, then acknowledges
 * the original. If the copy cannot be published, the original is rejected
 * instead, and the broker dead-letters it without the reason: either way it
 * is kept, never dropped.
 */
export async function deadLetterWithReason(
  publisher: ChannelWrapper,
  raw: ConsumeMessage,
  queue: string,
  deadLetters: string,
  reason: string,
  settle: (action: 'ack' | 'reject') => boolean,
  logger: Logger,
): Promise<void> {
  try {
    await publisher.sendToQueue(deadLetters, raw.content, {
      ...raw.properties,
      persistent: true,
      headers: { ...raw.properties.headers, [DEAD_LETTER_REASON]: reason, [DEAD_LETTER_QUEUE]: queue },
    });
    settle('ack');
  } catch (error) {
    logger.warn('could not add the reason to a dead letter; rejecting it to the dead-letter queue instead', { err: error });
    settle('reject');
  }
}
