import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { freePort, logLines, startProcess, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * What tracing costs a deployment when it is off, and when its collector
 * fails: the embedded service as `npm start` runs it, in a process of its
 * own (the SDK registers itself for the whole process).
 */

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const BASE_ENV = { API_HOST: '127.0.0.1', LOG_LEVEL: 'info', OTEL_BSP_SCHEDULE_DELAY: '50' };

async function startEmbedded(env: Record<string, string>): Promise<{ service: ServiceProcess; port: number }> {
  const port = await freePort();
  const service = startProcess([], { ...BASE_ENV, API_PORT: String(port), ...env });
  await service.ready(port, 60_000);
  return { service, port };
}

const embed = (port: number, i: number) =>
  fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: TRACEPARENT },
    body: JSON.stringify({ input: [`text ${i} to embed`] }),
  }).then((r) => r.status);


describe('tracing without an endpoint', () => {
  let receiver: OtlpReceiver | undefined;
  let running: { service: ServiceProcess; port: number };

  beforeAll(async () => {
    // Where an exporter would send by default (localhost:4318): a receiver there sees any attempt.
    receiver = await otlpReceiver(4318).catch(() => undefined);
    running = await startEmbedded({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' });
  }, 90_000);
  afterAll(async () => {
    await running?.service.stop();
    await receiver?.close();
  });

  it('exports nothing, tries nothing, and writes no trace ids, though callers send traceparent', async () => {
    for (let i = 0; i < 5; i++) expect(await embed(running.port, i)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (receiver) expect(receiver.requests).toEqual([]);
    const requests = logLines(running.service).filter((l) => l.msg === 'request');
    expect(requests.length).toBeGreaterThanOrEqual(5);
    expect(requests.filter((l) => 'trace_id' in l)).toEqual([]);
  });
});

describe('tracing with an endpoint that is down or stalled', () => {
  /** Accepts connections and never answers: a collector that hangs. */
  let stalled: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    stalled = createServer((socket) => void sockets.add(socket)).listen(0, '127.0.0.1');
    await once(stalled, 'listening');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
  });

  it.each([
    ['refuses connections', async () => `http://127.0.0.1:${await freePort()}`],
    ['never answers', async () => `http://127.0.0.1:${(stalled.address() as { port: number }).port}`],
  ])('when it %s, requests are unaffected, liveness stays fast, and the spans are dropped and counted', async (_, endpoint) => {
    const { service, port } = await startEmbedded({ OTEL_EXPORTER_OTLP_ENDPOINT: await endpoint(), OTEL_EXPORTER_OTLP_TIMEOUT: '300' });
    try {
      const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => embed(port, i)));
      expect(statuses.every((s) => s === 200)).toBe(true);
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
        expect(performance.now() - started).toBeLessThan(250);
      }
      const dropped = async () => Number(/embedding_trace_spans_dropped_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
      await waitFor(async () => (await dropped()) >= 40, 15_000, 'the spans to be dropped and counted');
      expect(logLines(service).some((l) => l.level === 'warn' && String(l.msg).startsWith('trace spans dropped'))).toBe(true);
      // Still inside the caller's trace, whatever the exporter does: the access log line names it.
      expect(logLines(service).find((l) => l.msg === 'request' && l.path === '/v1/embeddings')).toMatchObject({ trace_id: TRACEPARENT.split('-')[1] });
    } finally {
      await service.stop();
    }
  }, 90_000);
});

describe('tracing set up by OpenTelemetry’s standard variables', () => {
  let receiver: OtlpReceiver;
  let running: { service: ServiceProcess; port: number };

  beforeAll(async () => {
    receiver = await otlpReceiver();
    running = await startEmbedded({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'embeddings-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,service.namespace=search',
      // A new trace is never sampled; a caller's sampled one always is.
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
  }, 90_000);
  afterAll(async () => {
    await running?.service.stop();
    await receiver?.close();
  });

  it('names the service and its resource as they say, and samples as they say', async () => {
    const unsampled = await fetch(`http://127.0.0.1:${running.port}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: ['nobody asked to trace this'] }),
    });
    expect(unsampled.status).toBe(200);
    expect(await embed(running.port, 0)).toBe(200);
    const traceId = TRACEPARENT.split('-')[1];
    await waitFor(() => receiver.spans.some((s) => s.kind === 'server'), 10_000, 'the sampled request’s spans');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(new Set(receiver.spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    const server = receiver.spans.find((s) => s.kind === 'server')!;
    expect(server.resource).toMatchObject({
      'service.name': 'embeddings-eu',
      'service.namespace': 'search',
      'deployment.environment.name': 'test',
      'embedding_service.mode': 'all',
    });
    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType === 'application/json')).toBe(true);
  });
});
