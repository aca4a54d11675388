import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, hostDetector, processDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Logger } from '../../ports/logger.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface TracingSetup {
  /** Where spans are sent: the OTLP/HTTP traces URL, `/v1/traces` included. */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  /** What the resource says of this process besides what OTEL_RESOURCE_ATTRIBUTES and the host say: its service, version and mode. */
  readonly service: { readonly name: string; readonly version: string; readonly mode: string };
  /** Spans dropped: the endpoint refused or did not answer an export, or too many waited. */
  readonly onDropped: (spans: number) => void;
  readonly logger: Logger;
}

/** Most spans waiting for export (OTEL_BSP_MAX_QUEUE_SIZE's default); past it, new spans are dropped. */
const MAX_QUEUED_SPANS = 2048;

/** A failing endpoint is logged at most this often; the dropped spans are all counted. */
const WARN_EVERY_MS = 30_000;

/**
 * Starts OpenTelemetry's trace SDK for this process and registers it as
 * the global tracer provider, with its context manager (async local
 * storage) and W3C trace-context propagator.
 *
 * The SDK reads its standard variables itself: OTEL_SERVICE_NAME and
 * OTEL_RESOURCE_ATTRIBUTES (which win over `service`), OTEL_TRACES_SAMPLER
 * and its _ARG, OTEL_EXPORTER_OTLP_HEADERS and _TIMEOUT, OTEL_BSP_*.
 *
 * Spans are exported in batches, off the requests' path: an endpoint that
 * is down or slow costs a request nothing. Spans it cannot take are
 * dropped and counted, and never pile up past `MAX_QUEUED_SPANS`.
 */
export function registerTracing(setup: TracingSetup): { shutdown(): Promise<void> } {
  const defaults = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: setup.service.name,
    [ATTR_SERVICE_VERSION]: setup.service.version,
    'embedding_service.mode': setup.service.mode,
  });
  const resource = defaults.merge(detectResources({ detectors: [envDetector, hostDetector, processDetector] }));
  const Exporter = setup.protocol === 'http/json' ? JsonTraceExporter : ProtobufTraceExporter;
  const exporter = new CountingExporter(new Exporter({ url: setup.url }), setup);
  const processor = new BoundedProcessor(new BatchSpanProcessor(exporter), exporter, MAX_QUEUED_SPANS);
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

/** The exporter, counting the spans of every export that failed (after its own retries) as dropped. */
class CountingExporter implements SpanExporter {
  /** Spans handed to an export that has not answered yet. */
  pending = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: SpanExporter,
    private readonly setup: TracingSetup,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      this.pending -= spans.length;
      if (result.code !== ExportResultCode.SUCCESS) this.dropped(spans.length, result.error);
      done(result);
    });
  }

  dropped(count: number, error?: unknown): void {
    this.setup.onDropped(count);
    const now = performance.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.setup.logger.warn('trace spans dropped: the OTLP endpoint failed or cannot keep up', { url: this.setup.url, spans: count, err: error });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

/**
 * The batch processor, in front of which sampled spans are counted until
 * exported: past `limit` waiting, a span is dropped here and counted (the
 * processor would drop it too, but silently).
 */
class BoundedProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly exporter: CountingExporter,
    private readonly limit: number,
  ) {}

  onStart(span: Span, parent: Context): void {
    this.inner.onStart(span, parent);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.exporter.pending >= this.limit) {
      this.exporter.dropped(1);
      return;
    }
    this.exporter.pending++;
    this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}
