import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { TaskMessage } from '../../domain/index.js';
import type { Logger } from '../../ports/logger.js';
import type { CallAnswer, CallReply } from '../../ports/task-caller.js';
import { encodeAnswer } from './answer-codec.js';
import type { BrokerClient } from './broker-client.js';
import { encodeMessage } from './message-codec.js';

/** Where a consumer's answers go out: one channel per client, made with the first call it is delivered. */
export interface Replies {
  readonly client: BrokerClient;
  channel: ChannelWrapper | undefined;
}

/**
 * The worker's side of a call delivered from `queue`: the answer goes to
 * the message's `reply_to` with its `correlation_id`, on a channel without
 * confirms (an answer is not kept anywhere; one that is lost leaves its
 * caller to time out, as a lost connection would). A retry is published
 * on the confirm channel and acknowledged only once the broker has it.
 */
export function callReply(
  replies: Replies,
  raw: ConsumeMessage,
  message: TaskMessage,
  queue: string,
  settle: (action: 'ack') => boolean,
  log: Logger,
): CallReply {
  const { replyTo, correlationId } = raw.properties as { replyTo: string; correlationId?: string };
  return {
    answer: async (answer: CallAnswer) => {
      replies.channel ??= replies.client.channel({ name: 'replies', confirm: false });
      // The answer carries the context of the span that made it (the worker's), for the caller's span to link to.
      const headers = replies.client.options.tracing?.inject();
      await replies.channel
        .sendToQueue(replyTo, encodeAnswer(answer), { correlationId, contentType: 'application/octet-stream', ...(headers && { headers }) })
        .catch((error: unknown) => log.warn('could not send a call its answer', { err: error }));
    },
    retry: async () => {
      const copy = { ...message, attempts: (message.attempts ?? 0) + 1 };
      const remainingMs = message.deadline ? Math.max(1, message.deadline.getTime() - Date.now()) : undefined;
      const { expiration: _spent, ...properties } = raw.properties;
      await replies.client.publisher.sendToQueue(queue, encodeMessage(copy), { ...properties, ...(remainingMs !== undefined && { expiration: String(Math.ceil(remainingMs)) }) });
      settle('ack');
    },
  };
}
