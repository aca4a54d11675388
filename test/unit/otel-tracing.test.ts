import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll } from 'vitest';
import { OtelTracing } from '../../src/adapters/opentelemetry/otel-tracing.js';
import { tracingContract, type FinishedSpan } from '../contracts/tracing.contract.js';

/*
 * The OpenTelemetry adapter, on the SDK as the composition root registers
 * it (context in async local storage, W3C propagation), exporting to memory.
 * Registered for this file's process only, and taken down after it.
 */
const exporter = new InMemorySpanExporter();
new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

const KINDS: Record<SpanKind, string> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

tracingContract('OpenTelemetry', () => {
  exporter.reset();
  return {
    tracing: new OtelTracing('test', '0.0.0'),
    finished: () =>
      exporter.getFinishedSpans().map(
        (span): FinishedSpan => ({
          name: span.name,
          kind: KINDS[span.kind],
          traceId: span.spanContext().traceId,
          spanId: span.spanContext().spanId,
          parentSpanId: span.parentSpanContext?.spanId ?? '',
          attributes: span.attributes,
          links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
          failed: span.status.code === SpanStatusCode.ERROR,
          events: span.events.map((event) => event.name),
        }),
      ),
  };
});
