import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { ServiceUnavailableError, type TaskMessage } from '../../domain/index.js';
import type { CallAnswer, TaskCaller } from '../../ports/task-caller.js';
import type { TraceCarrier } from '../../ports/tracing.js';
import { decodeAnswer } from './answer-codec.js';
import { CONNECT_GRACE_MS, type BrokerClient } from './broker-client.js';
import { encodeMessage } from './message-codec.js';
import { tracedPublish } from './message-spans.js';

/** RabbitMQ's direct reply-to: answers come straight to the channel that consumes it, with no queue of its own. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

interface Waiting {
  readonly message: TaskMessage;
  /** The trace context it carries, the same in every copy sent. */
  readonly headers: TraceCarrier | undefined;
  /** With the answer, the headers it came with: the context of the worker's span that answered. */
  readonly resolve: (answer: CallAnswer, replyHeaders?: TraceCarrier) => void;
  readonly reject: (error: Error) => void;
  /** The reply channel it was last sent on: a call sent on one that has since closed is sent again. */
  generation: number;
}

/**
 * `TaskCaller` on RabbitMQ, by direct reply-to: a call is published on the
 * channel that consumes `amq.rabbitmq.reply-to`, and the worker's answer
 * comes back on it, addressed by `correlation_id`. No reply queue is
 * declared, and nothing is stored.
 *
 * The message is transient (an answer cannot outlive this process's channel
 * anyway) and expires at its deadline; it is published with a confirm, so
 * that a full queue is a fast refusal, not a call that silently never
 * arrives. When the channel is re-established (a dropped connection, a
 * broker restart), every call still waiting is sent again on the new one:
 * its first copy's answer could no longer reach it.
 */
export class RabbitMqCalls implements TaskCaller {
  private readonly channel: ChannelWrapper;
  private readonly waiting = new Map<string, Waiting>();
  private generation = 0;

  constructor(private readonly client: BrokerClient) {
    this.channel = client.channel({
      name: 'calls',
      confirm: true,
      publishTimeout: client.options.publishTimeoutMs ?? 5_000,
      setup: async (ch: ConfirmChannel) => {
        await ch.consume(DIRECT_REPLY_TO, (raw) => raw && this.answered(raw), { noAck: true });
        const generation = ++this.generation;
        // After the setup, so that the channel is ready to publish on.
        if (generation > 1) setImmediate(() => this.resend(generation));
      },
    });
  }

  async call(message: TaskMessage, signal: AbortSignal): Promise<CallAnswer> {
    await this.client.ready(message.model, CONNECT_GRACE_MS);
    signal.throwIfAborted();
    const tracing = this.client.options.tracing;
    // One span from the publish to the answer, linked to the worker's span that answered.
    return tracedPublish(tracing, this.client.callsQueueName(message.model, message.priority), message, async (headers, span) => {
      const { answer, replyHeaders } = await this.wait(message, headers, signal);
      const answeredBy = replyHeaders && tracing?.extract(replyHeaders);
      if (span && answeredBy) span.link(answeredBy);
      return answer;
    }, 'call');
  }

  private wait(message: TaskMessage, headers: TraceCarrier | undefined, signal: AbortSignal): Promise<{ answer: CallAnswer; replyHeaders?: TraceCarrier }> {
    return new Promise((resolve, reject) => {
      const end = () => {
        signal.removeEventListener('abort', abort);
        this.waiting.delete(message.taskId);
      };
      const abort = () => (end(), reject(signal.reason as Error));
      signal.addEventListener('abort', abort, { once: true });
      const waiting: Waiting = {
        message,
        headers,
        resolve: (answer, replyHeaders) => (end(), resolve({ answer, ...(replyHeaders && { replyHeaders }) })),
        reject: (error) => (end(), reject(error)),
        generation: 0,
      };
      this.waiting.set(message.taskId, waiting);
      this.send(waiting);
    });
  }

  /** Refuses every call still waiting: closing, this process will not see their answers. */
  close(): void {
    for (const waiting of [...this.waiting.values()]) waiting.reject(new ServiceUnavailableError('The task queue closed before the answer came.', 1));
  }

  private send(waiting: Waiting): void {
    const { message } = waiting;
    waiting.generation = this.generation;
    const remainingMs = message.deadline ? message.deadline.getTime() - Date.now() : undefined;
    if (remainingMs !== undefined && remainingMs <= 0) return; // The caller's own timeout answers it.
    const options: Options.Publish = {
      persistent: false,
      priority: message.priority,
      replyTo: DIRECT_REPLY_TO,
      correlationId: message.taskId,
      messageId: message.taskId,
      contentType: 'application/json',
      timestamp: Math.floor(message.enqueuedAt.getTime() / 1000),
      ...(remainingMs !== undefined && { expiration: String(Math.ceil(remainingMs)) }),
      ...(waiting.headers && { headers: waiting.headers }),
    };
    const queue = this.client.callsQueueName(message.model, message.priority);
    this.channel.sendToQueue(queue, encodeMessage(message), options).catch(async (error: unknown) => {
      const refusal = await this.client.refusal(error, message.model, queue);
      // Only the latest copy's refusal counts: an older one's may fail as its channel closes.
      if (this.waiting.get(message.taskId) === waiting && waiting.generation === this.generation) waiting.reject(refusal);
    });
  }

  private resend(generation: number): void {
    for (const waiting of this.waiting.values()) if (waiting.generation < generation) this.send(waiting);
  }

  /** The first answer to a call wins; an answer to a call nobody waits for any more (a duplicate, or its caller gone) is dropped. */
  private answered(raw: ConsumeMessage): void {
    const waiting = this.waiting.get(String(raw.properties.correlationId));
    const answer = waiting && decodeAnswer(raw.content);
    if (waiting && answer) waiting.resolve(answer, raw.properties.headers);
  }
}
