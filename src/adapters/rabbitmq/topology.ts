import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
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
 * Declares a model's durable queue, with priorities 0–9 and its dead-letter
 * queue, on a channel: now, and again after every reconnection (a channel
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
    });
  } catch (error) {
    throw new ServiceUnavailableError(`Cannot declare queue ${queue}: ${(error as Error).message}`, 2, { cause: error });
  }
}
