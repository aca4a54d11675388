import type { ConsumeMessage } from 'amqplib';
import type { TaskMessage } from '../../domain/index.js';
import type { ActiveSpan, SpanAttributes, TraceCarrier, Tracing } from '../../ports/tracing.js';

/** What a message's span says of it, after OpenTelemetry's messaging conventions (RabbitMQ's default exchange routes by queue name). */
function attributesOf(queue: string, message: TaskMessage, operation: 'send' | 'process', bytes?: number): SpanAttributes {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.operation.type': operation,
    'messaging.operation.name': operation === 'send' ? 'publish' : 'consume',
    'messaging.destination.name': queue,
    'messaging.rabbitmq.destination.routing_key': queue,
    'messaging.message.id': message.taskId,
    'messaging.message.body.size': bytes,
    'gen_ai.request.model': message.model,
    'embedding_service.texts': message.inputs.length,
  };
}

/**
 * Publishes `message` to `queue` in a producer span whose context the
 * message carries in its headers (W3C `traceparent`, `tracestate`), so that
 * the worker's span continues the trace. Without tracing, no headers and
 * no span: nothing is added to the publish.
 */
export function tracedPublish<T>(
  tracing: Tracing | undefined,
  queue: string,
  message: TaskMessage,
  publish: (headers: TraceCarrier | undefined, span: ActiveSpan | undefined) => Promise<T>,
  operation: 'publish' | 'call' = 'publish',
): Promise<T> {
  if (!tracing) return publish(undefined, undefined);
  return tracing.inSpan(`${operation} ${queue}`, { kind: 'producer', attributes: attributesOf(queue, message, 'send') }, (span) => publish(tracing.inject(), span));
}

/** Runs a delivery's handler in a consumer span, the child of the span that published the message (from its headers). */
export function tracedDelivery(tracing: Tracing | undefined, queue: string, raw: ConsumeMessage, message: TaskMessage, handle: () => Promise<void>): Promise<void> {
  if (!tracing) return handle();
  const attributes = { ...attributesOf(queue, message, 'process', raw.content.length), 'embedding_service.redelivered': raw.fields.redelivered };
  return tracing.inSpan(`process ${queue}`, { kind: 'consumer', parent: raw.properties.headers ?? {}, attributes }, handle);
}
