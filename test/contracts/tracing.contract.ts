import { describe, expect, it } from 'vitest';
import type { SpanReference, Tracing } from '../../src/ports/tracing.js';

/** A finished span as the adapter's exporter saw it, in the port's terms. */
export interface FinishedSpan {
  readonly name: string;
  readonly kind: string;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { traceId: string; spanId: string }[];
  readonly failed: boolean;
  /** Names of its events (`exception` for a recorded error). */
  readonly events: readonly string[];
}

export interface TracingUnderTest {
  readonly tracing: Tracing;
  /** Spans ended so far, oldest first. */
  finished(): readonly FinishedSpan[];
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/**
 * What every `Tracing` adapter promises, run against each one: which span is
 * whose child, what a batch links to, what crosses a process boundary, and
 * that a failure marks a span without being swallowed.
 */
export function tracingContract(name: string, make: () => TracingUnderTest): void {
  describe(`Tracing contract: ${name}`, () => {
    it('runs work in its span: what it starts is its child, and the span ends when the work does', async () => {
      const { tracing, finished } = make();
      let inside: SpanReference | undefined;
      const value = await tracing.inSpan('outer', { kind: 'server', attributes: { 'a.string': 'x', 'a.number': 3, 'an.absent': undefined } }, async (outer) => {
        inside = tracing.current();
        expect(inside).toEqual(outer.reference);
        await tracing.inSpan('inner', {}, async () => undefined);
        outer.rename('renamed');
        outer.setAttributes({ 'set.later': true });
        return 42;
      });
      expect(value).toBe(42);
      expect(inside!.traceId).toMatch(TRACE_ID);
      expect(inside!.spanId).toMatch(SPAN_ID);
      const [inner, outer] = finished();
      expect(outer).toMatchObject({ name: 'renamed', kind: 'server', parentSpanId: '', failed: false, attributes: { 'a.string': 'x', 'a.number': 3, 'set.later': true } });
      expect('an.absent' in outer!.attributes).toBe(false);
      expect(inner).toMatchObject({ name: 'inner', traceId: outer!.traceId, parentSpanId: outer!.spanId });
      expect(tracing.current()).toBeUndefined();
    });

    it('marks a span failed when its work rejects, records the error, and passes it on', async () => {
      const { tracing, finished } = make();
      await expect(tracing.inSpan('failing', {}, async () => Promise.reject(new Error('broken')))).rejects.toThrow('broken');
      await tracing.inSpan('told', {}, async (span) => span.fail(new Error('a fault of the server')));
      expect(finished().map((s) => [s.name, s.failed, s.events])).toEqual([
        ['failing', true, ['exception']],
        ['told', true, ['exception']],
      ]);
    });

    it('carries a trace to another process: what `inject` writes, a span given it as its parent continues, and `extract` reads', async () => {
      const { tracing, finished } = make();
      let carrier: Record<string, string> = {};
      const sender = await tracing.inSpan('send', { kind: 'producer' }, async (span) => {
        carrier = tracing.inject();
        return span.reference;
      });
      expect(carrier.traceparent).toBe(`00-${sender.traceId}-${sender.spanId}-01`);
      expect(tracing.extract(carrier)).toEqual({ ...sender, sampled: true });
      // Headers may arrive as bytes (AMQP's long strings).
      expect(tracing.extract({ traceparent: Buffer.from(String(carrier.traceparent)) })).toEqual({ ...sender, sampled: true });
      expect(tracing.extract({ traceparent: 'not a trace context' })).toBeUndefined();
      expect(tracing.extract({})).toBeUndefined();
      await tracing.inSpan('receive', { kind: 'consumer', parent: carrier }, async () => undefined);
      await tracing.inSpan('elsewhere', { parent: 'root' }, async () =>
        tracing.inSpan('fresh', { parent: 'root' }, async () => undefined),
      );
      const byName = new Map(finished().map((s) => [s.name, s]));
      expect(byName.get('receive')).toMatchObject({ traceId: sender.traceId, parentSpanId: sender.spanId, kind: 'consumer' });
      expect(byName.get('fresh')!.parentSpanId).toBe('');
      expect(byName.get('fresh')!.traceId).not.toBe(byName.get('elsewhere')!.traceId);
    });

    it('links a span to one it learns of later', async () => {
      const { tracing, finished } = make();
      const other = await tracing.inSpan('other', { parent: 'root' }, async (span) => span.reference);
      await tracing.inSpan('linked', { links: [other] }, async (span) => span.link(other));
      expect(finished().find((s) => s.name === 'linked')!.links).toEqual([
        { traceId: other.traceId, spanId: other.spanId },
        { traceId: other.traceId, spanId: other.spanId },
      ]);
    });

    it('runs a batch in a trace of its own, linked to each request once, with a share in each request’s trace linked back', async () => {
      const { tracing, finished } = make();
      const requests = await Promise.all(['a', 'b'].map((n) => tracing.inSpan(`request ${n}`, { parent: 'root' }, async (span) => span.reference)));
      const value = await tracing.inBatch('inference', [requests[0], requests[1], requests[0], undefined], { 'batch.size': 3 }, async () => {
        expect(requests.map((r) => r.traceId)).not.toContain(tracing.current()!.traceId);
        return 'vectors';
      });
      expect(value).toBe('vectors');
      const inferences = finished().filter((s) => s.name === 'inference');
      const batch = inferences.find((s) => s.parentSpanId === '')!;
      expect(batch.links).toEqual(requests.map((r) => ({ traceId: r.traceId, spanId: r.spanId })));
      expect(batch.attributes).toMatchObject({ 'batch.size': 3 });
      for (const request of requests) {
        const share = inferences.find((s) => s.traceId === request.traceId)!;
        expect(share).toMatchObject({ parentSpanId: request.spanId, links: [{ traceId: batch.traceId, spanId: batch.spanId }], attributes: { 'batch.size': 3 } });
      }
      expect(inferences).toHaveLength(3);

      await expect(tracing.inBatch('failed batch', [requests[0]], {}, async () => Promise.reject(new Error('model failed')))).rejects.toThrow('model failed');
      expect(finished().filter((s) => s.name === 'failed batch').map((s) => s.failed)).toEqual([true, true]);
    });
  });
}
