/** What a span says of itself, beside its name: OpenTelemetry's attribute values. */
export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** Who started the work a span measures, as OpenTelemetry's span kinds say it. */
export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

/** A span's identity, as W3C trace context writes it: enough to link to it, or to make a span its child. */
export interface SpanReference {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  readonly sampled: boolean;
}

/**
 * A trace context written for another process (W3C `traceparent` and
 * `tracestate`), as message headers or HTTP headers carry it.
 */
export type TraceCarrier = Record<string, unknown>;

/** The span a piece of work runs in, while it runs. */
export interface ActiveSpan {
  setAttributes(attributes: SpanAttributes): void;
  /** Its name, when only the end of the work tells it (an HTTP route, matched after the span began). */
  rename(name: string): void;
  /** Marks it failed, recording `error`: a fault of this service, not of its caller. */
  fail(error: unknown): void;
  /** Links it to a span it did not know of when it began (the one that answered it, in another process). */
  link(reference: SpanReference): void;
  /** Where it is, for other spans to link to it or for another process to continue its trace. */
  readonly reference: SpanReference;
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: SpanAttributes;
  /** Spans this one follows from without being their child (each request a batch serves). */
  readonly links?: readonly SpanReference[];
  /**
   * Its parent: the trace context another process wrote (`inject`), or
   * `'root'` for a new trace; by default the span the caller runs in.
   */
  readonly parent?: TraceCarrier | 'root';
}

/**
 * Distributed tracing, with OpenTelemetry's model (spans, links, W3C
 * propagation), in the service's own words so that use cases can say which
 * work is one span without knowing the library.
 *
 * Guarantees: tracing never fails or delays the work it measures: spans
 * are handed to an exporter that runs apart and drops them when it cannot
 * keep up. Work run by `inSpan` runs in its span's context, so that spans
 * and log lines made by anything it calls belong to it.
 */
export interface Tracing {
  /** The span the caller runs in, if any. */
  current(): SpanReference | undefined;
  /**
   * Runs `work` in a new span, ended when the work settles. A rejection
   * marks the span failed (see `ActiveSpan.fail`) and is passed on.
   */
  inSpan<T>(name: string, options: SpanOptions, work: (span: ActiveSpan) => Promise<T>): Promise<T>;
  /**
   * One piece of work done for several requests at once (an inference over
   * a batch of their texts): a span of its own, in a trace of its own,
   * linked to each request's span, and in each request's trace a span
   * `name` for its share, linked back to it.
   */
  inBatch<T>(name: string, requests: readonly (SpanReference | undefined)[], attributes: SpanAttributes, work: () => Promise<T>): Promise<T>;
  /** The context of the span the caller runs in, written for another process (W3C `traceparent`, `tracestate`). */
  inject(): Record<string, string>;
  /** The span another process wrote into `carrier`, if it wrote one. */
  extract(carrier: TraceCarrier): SpanReference | undefined;
}
