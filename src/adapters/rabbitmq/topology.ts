import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../ports/logger.js';
import { MAX_PRIORITY, ServiceUnavailableError } from '../../domain/index.js';

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
 * Declares a model's durable queue, its calls' queue and its bulk lane, with priorities 0–9,
 * and their dead-letter queue, on a channel: now, and again after every reconnection (a channel
 * setup). With `maxLength`, a full queue refuses publishes (reject-publish)
 * rather than dropping the oldest. Declaring is idempotent as long as the
 * arguments match what the broker has.
 */
export async function declareQueues(channel: ChannelWrapper, queue: string, maxLength: number | undefined): Promise<void> {
  const deadLetters = deadLetterQueueOf(queue);
  const args: Record<string, unknown> = {
    'x-max-priority': MAX_PRIORITY,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': deadLetters,
  };
  if (maxLength !== undefined) {
    args['x-max-length'] = maxLength;
    args['x-overflow'] = 'reject-publish';
  }
  try {
    await channel.addSetup(async (ch: ConfirmChannel) => {
      await ch.assertQueue(deadLetters, { durable: true });
      await ch.assertQueue(queue, { durable: true, arguments: args });
      await ch.assertQueue(bulkQueueOf(queue), { durable: true, arguments: args });
      await ch.assertQueue(callsQueueOf(queue), { durable: true, arguments: args });
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
