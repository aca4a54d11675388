import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind as OtelSpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { ActiveSpan, SpanAttributes, SpanKind, SpanOptions, SpanReference, TraceCarrier, Tracing } from '../../ports/tracing.js';

const KINDS: Readonly<Record<SpanKind, OtelSpanKind>> = {
  server: OtelSpanKind.SERVER,
  client: OtelSpanKind.CLIENT,
  producer: OtelSpanKind.PRODUCER,
  consumer: OtelSpanKind.CONSUMER,
  internal: OtelSpanKind.INTERNAL,
};

/**
 * `Tracing` on the OpenTelemetry API: spans from the tracer provider that
 * the composition root registered (`TracingRuntime`), in the context its
 * context manager carries across awaits, written to other processes by its
 * propagator (W3C trace context).
 */
export class OtelTracing implements Tracing {
  private readonly tracer: Tracer;

  constructor(name: string, version: string) {
    this.tracer = trace.getTracer(name, version);
  }

  current(): SpanReference | undefined {
    const span = trace.getActiveSpan();
    return span && referenceOf(span.spanContext());
  }

  async inSpan<T>(name: string, options: SpanOptions, work: (span: ActiveSpan) => Promise<T>): Promise<T> {
    const parent = options.parent === 'root' ? ROOT_CONTEXT : options.parent ? propagation.extract(ROOT_CONTEXT, options.parent, carrierGetter) : context.active();
    const span = this.tracer.startSpan(
      name,
      { kind: KINDS[options.kind ?? 'internal'], ...(options.attributes && { attributes: clean(options.attributes) }), ...(options.links && { links: options.links.map(linkTo) }) },
      parent,
    );
    try {
      return await context.with(trace.setSpan(parent, span), () => work(active(span)));
    } catch (error) {
      fail(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  async inBatch<T>(name: string, requests: readonly (SpanReference | undefined)[], attributes: SpanAttributes, work: () => Promise<T>): Promise<T> {
    const parents = [...new Map(requests.flatMap((r) => (r ? [[r.spanId, r] as const] : []))).values()];
    const started = now();
    const batch = this.tracer.startSpan(name, { attributes: clean(attributes), links: parents.map(linkTo), startTime: started }, ROOT_CONTEXT);
    let failure: unknown;
    try {
      return await context.with(trace.setSpan(ROOT_CONTEXT, batch), work);
    } catch (error) {
      failure = error;
      fail(batch, error);
      throw error;
    } finally {
      const ended = now();
      batch.end(ended);
      // Each request's share, in its own trace: the same times, and a link to the batch that did the work.
      const link = linkTo(referenceOf(batch.spanContext()));
      for (const parent of parents) {
        const share = this.tracer.startSpan(name, { attributes: clean(attributes), links: [link], startTime: started }, trace.setSpanContext(ROOT_CONTEXT, contextOf(parent)));
        if (failure !== undefined) fail(share, failure);
        share.end(ended);
      }
    }
  }

  inject(): Record<string, string> {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return carrier;
  }

  extract(carrier: TraceCarrier): SpanReference | undefined {
    const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, carrier, carrierGetter));
    return spanContext && referenceOf(spanContext);
  }
}

function active(span: Span): ActiveSpan {
  return {
    setAttributes: (attributes) => void span.setAttributes(clean(attributes)),
    rename: (name) => void span.updateName(name),
    fail: (error) => fail(span, error),
    link: (reference) => void span.addLink(linkTo(reference)),
    reference: referenceOf(span.spanContext()),
  };
}

function fail(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

function referenceOf(spanContext: SpanContext): SpanReference {
  return { traceId: spanContext.traceId, spanId: spanContext.spanId, sampled: (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 };
}

function contextOf(reference: SpanReference): SpanContext {
  return { traceId: reference.traceId, spanId: reference.spanId, traceFlags: reference.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true };
}

function linkTo(reference: SpanReference): Link {
  return { context: contextOf(reference) };
}

function clean(attributes: SpanAttributes): Attributes {
  const kept: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) kept[key] = value;
  return kept;
}

/** Carriers are message headers: a value may arrive as a Buffer (AMQP's long strings) rather than a string. */
const carrierGetter = {
  keys: (carrier: TraceCarrier) => Object.keys(carrier),
  get: (carrier: TraceCarrier, key: string) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/** Epoch milliseconds with a fraction, as precise as the spans the SDK times itself. */
function now(): number {
  return performance.timeOrigin + performance.now();
}
