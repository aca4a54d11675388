import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { deleteKeys, deleteQueues } from '../support/namespace.js';
import { otlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { freePort, logLines, startProcess, startWorker, untilServed, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * One trace across the deployment: an API and a worker as processes on the
 * real RabbitMQ and Redis, exporting to an OTLP receiver inside the test
 * (the API over http/protobuf, the worker over http/json). A request sent
 * with a known `traceparent` must come back as spans from both processes in
 * that trace, each the child of the one before it; the inference links to
 * every request that shared its batch; and log lines carry the ids.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

const traceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, header: `00-${traceId}-${spanId}-01` };
};

describe.skipIf(!amqp || !store)('traces across the API, RabbitMQ and a worker', () => {
  const namespace = `traces-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let receiver: OtlpReceiver;
  let apiPort: number;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'traces-'));
    receiver = await otlpReceiver();
    const bert = await writeBertFolder(join(dir, 'bert'), { seed: 5 });
    // `idle` is configured and served by no worker: a sync request for it is refused with 503.
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [
      { id: 'bert', engine: 'onnx', path: bert },
      { id: 'idle', engine: 'onnx', path: bert },
    ]);
    const env = {
      ML_CONFIG_PATH: mlConfig,
      AMQP_URL: amqp!.url,
      REDIS_URL: store!.url,
      DEPLOYMENT_NAMESPACE: namespace,
      API_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WORKER_THREADS: '1',
      WORKER_HEARTBEAT_SECONDS: '1',
      // Long enough for concurrent tasks to share a batch, on a machine busy with other tests too.
      WORKER_BATCH_LINGER_MS: '250',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    apiPort = await freePort();
    api = startProcess(['--mode', 'api'], { ...env, API_PORT: String(apiPort), OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    processes.push(api);
    // At debug, the worker writes a line for each task that succeeds.
    worker = (await startWorker({ ...env, LOG_LEVEL: 'debug', WORKER_MODELS: 'bert', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }, processes)).process;
    await api.ready(apiPort);
    await untilServed(apiPort, 'bert');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await receiver?.close();
    const queues = ['bert', 'idle'].map((model) => `${namespace}.embeddings.${model}`);
    await deleteQueues(amqp!.url, queues.flatMap((q) => [q, `${q}.bulk`, `${q}.calls`, `${q}.dead`]));
    await deleteKeys(store!.url, `${namespace}:`);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const post = (path: string, body: unknown, header?: string) =>
    fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...(header && { traceparent: header }) },
      body: JSON.stringify(body),
    });
  const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const one = (spans: readonly ReceivedSpan[], test: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
    const found = spans.filter(test);
    expect(found.map((s) => s.name), what).toHaveLength(1);
    return found[0]!;
  };
  const modeOf = (span: ReceivedSpan) => span.resource['embedding_service.mode'];

  it('follows a sync request from the caller’s traceparent through the call to the worker’s inference and back', async () => {
    const caller = traceparent();
    const response = await post('/v1/embeddings', { model: 'bert', input: ['a traced text'] }, caller.header);
    expect(response.status).toBe(200);
    const queue = `${namespace}.embeddings.bert.calls`;
    await waitFor(() => inTrace(caller.traceId).some((s) => s.name === 'inference'), 10_000, 'the worker’s spans');
    await waitFor(() => inTrace(caller.traceId).some((s) => s.kind === 'server'), 10_000, 'the API’s spans');
    const spans = inTrace(caller.traceId);

    const server = one(spans, (s) => s.kind === 'server', 'the server span');
    expect(server).toMatchObject({ name: 'POST /v1/embeddings', parentSpanId: caller.spanId, statusCode: 0 });
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/embeddings', 'http.response.status_code': 200, 'server.address': '127.0.0.1' });
    expect(modeOf(server)).toBe('api');
    expect(server.resource).toMatchObject({ 'service.name': 'embedding-service' });
    expect(server.resource['host.name']).toBeTruthy();
    expect(server.resource['process.pid']).toBeTruthy();

    // The call, from the API; a lone call leaves at once (coalescing waits only while one like it is out).
    const call = one(spans, (s) => s.kind === 'producer', 'the call span');
    expect(call).toMatchObject({ name: `call ${queue}`, parentSpanId: server.spanId });
    expect(call.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.destination.name': queue, 'messaging.operation.type': 'send' });

    // The worker's side, in another process, the child of the call through the message's headers.
    const consumer = one(spans, (s) => s.kind === 'consumer', 'the consumer span');
    expect(consumer).toMatchObject({ name: `process ${queue}`, parentSpanId: call.spanId });
    expect(modeOf(consumer)).toBe('worker');
    expect(consumer.attributes).toMatchObject({ 'messaging.operation.type': 'process', 'gen_ai.request.model': 'bert' });
    const tokenize = one(spans, (s) => s.name === 'tokenize', 'the tokenization span');
    expect(tokenize.parentSpanId).toBe(consumer.spanId);
    const share = one(spans, (s) => s.name === 'inference', 'the request’s share of the inference');
    expect(share.parentSpanId).toBe(consumer.spanId);

    // The inference itself, a root of its own, linked to the request; the share links back to it.
    const batch = receiver.spans.find((s) => s.name === 'inference' && s.parentSpanId === '' && s.links.some((l) => l.spanId === consumer.spanId))!;
    expect(batch).toBeDefined();
    expect(share.links).toEqual([{ traceId: batch.traceId, spanId: batch.spanId }]);
    expect(batch.attributes).toMatchObject({ 'gen_ai.request.model': 'bert', 'embedding_service.batch.texts': 1, 'embedding_service.batch.requests': 1 });
    expect(Number(batch.attributes['embedding_service.batch.padded_tokens'])).toBeGreaterThanOrEqual(Number(batch.attributes['embedding_service.batch.tokens']));

    // The answer came back carrying the worker's context: the call links to the span that answered it.
    expect(call.links).toContainEqual({ traceId: caller.traceId, spanId: consumer.spanId });

    // Both protocols reached the receiver.
    expect(new Set(receiver.requests.map((r) => r.contentType))).toEqual(new Set(['application/x-protobuf', 'application/json']));
    expect(receiver.requests.every((r) => r.path === '/v1/traces')).toBe(true);

    // Log lines written inside the request carry its trace: the API's access log line names the server span.
    const accessLine = logLines(api).find((l) => l.msg === 'request' && l.trace_id === caller.traceId);
    expect(accessLine).toMatchObject({ trace_id: caller.traceId, span_id: server.spanId, path: '/v1/embeddings', status: 200 });
  });

  it('follows a task through its publish, the store writes and the worker, and links one inference to every task it batched', async () => {
    const callers = Array.from({ length: 4 }, traceparent);
    const responses = await Promise.all(callers.map((c, i) => post('/v1/embeddings/tasks', { model: 'bert', input: [`task ${i} of four`] }, c.header)));
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    const queue = `${namespace}.embeddings.bert`;
    for (const caller of callers) {
      await waitFor(() => inTrace(caller.traceId).some((s) => s.name === 'task store finish (succeeded)'), 10_000, 'the task to finish');
      await waitFor(() => inTrace(caller.traceId).some((s) => s.kind === 'server'), 10_000, 'the API’s spans');
      const spans = inTrace(caller.traceId);
      const server = one(spans, (s) => s.kind === 'server', 'the server span');
      expect(server).toMatchObject({ name: 'POST /v1/embeddings/tasks', parentSpanId: caller.spanId });
      expect(server.attributes['http.response.status_code']).toBe(202);
      expect(server.attributes['embedding_service.task_id']).toBeTruthy();
      const created = one(spans, (s) => s.name === 'task store create', 'the record’s creation');
      expect(created).toMatchObject({ kind: 'client', parentSpanId: server.spanId });
      expect(created.attributes).toMatchObject({ 'db.system.name': 'redis' });
      const publish = one(spans, (s) => s.kind === 'producer', 'the publish');
      expect(publish).toMatchObject({ name: `publish ${queue}`, parentSpanId: server.spanId });
      const consumer = one(spans, (s) => s.kind === 'consumer', 'the consumer span');
      expect(consumer).toMatchObject({ name: `process ${queue}`, parentSpanId: publish.spanId });
      for (const write of ['task store start', 'task store finish (succeeded)']) {
        expect(one(spans, (s) => s.name === write, write).parentSpanId).toBe(consumer.spanId);
      }
      // The worker's log line for the task carries the trace, and the span it was written in.
      await waitFor(() => logLines(worker).some((l) => l.msg === 'task succeeded' && l.trace_id === caller.traceId), 5_000, 'the worker’s log line');
      expect(logLines(worker).find((l) => l.msg === 'task succeeded' && l.trace_id === caller.traceId)).toMatchObject({ span_id: consumer.spanId });
    }
    // The four arrived within the linger: the inferences that ran them link to each of their consumer spans.
    const consumers = callers.map((c) => inTrace(c.traceId).find((s) => s.kind === 'consumer')!.spanId);
    const batches = receiver.spans.filter((s) => s.name === 'inference' && s.parentSpanId === '' && s.links.some((l) => consumers.includes(l.spanId)));
    expect(new Set(batches.flatMap((b) => b.links.map((l) => l.spanId)).filter((id) => consumers.includes(id)))).toEqual(new Set(consumers));
    expect(Math.max(...batches.map((b) => b.links.length))).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.attributes['embedding_service.batch.requests']).toBe(batch.links.length);
  });

  it('carries a batch’s trace from the request that created it to its lines’ tasks on the bulk lane', async () => {
    const form = new FormData();
    form.set('purpose', 'batch');
    const lines = ['one', 'two'].map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/embeddings', body: { model: 'bert', input: `line ${id}` } }));
    form.set('file', new File([lines.join('\n')], 'lines.jsonl'));
    const file = (await (await fetch(`http://127.0.0.1:${apiPort}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
    const caller = traceparent();
    const created = await post('/v1/batches', { input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }, caller.header);
    expect(created.status).toBe(200);
    const queue = `${namespace}.embeddings.bert.bulk`;
    await waitFor(() => inTrace(caller.traceId).filter((s) => s.kind === 'consumer').length >= 1, 20_000, 'the lines’ tasks to run');
    await waitFor(() => inTrace(caller.traceId).some((s) => s.name === 'run batch'), 20_000, 'the run to end');
    const spans = inTrace(caller.traceId);
    const server = one(spans, (s) => s.kind === 'server', 'the request that created the batch');
    expect(server).toMatchObject({ name: 'POST /v1/batches', parentSpanId: caller.spanId });
    const run = one(spans, (s) => s.name === 'run batch', 'the batch’s run');
    expect(run.parentSpanId).toBe(server.spanId);
    const publishes = spans.filter((s) => s.kind === 'producer');
    expect(publishes.length).toBeGreaterThanOrEqual(1);
    for (const publish of publishes) expect(publish).toMatchObject({ name: `publish ${queue}`, parentSpanId: run.spanId });
    for (const consumer of spans.filter((s) => s.kind === 'consumer')) expect(publishes.map((p) => p.spanId)).toContain(consumer.parentSpanId);
  });

  it('marks a 5xx a failure of the server, with the exception recorded, and a caller’s 4xx not', async () => {
    const serverSpan = async (body: unknown, status: number) => {
      const caller = traceparent();
      expect((await post('/v1/embeddings', body, caller.header)).status).toBe(status);
      await waitFor(() => inTrace(caller.traceId).some((s) => s.kind === 'server'), 10_000, `the ${status}’s span`);
      return inTrace(caller.traceId).find((s) => s.kind === 'server')!;
    };
    const refused = await serverSpan({ model: 'idle', input: ['x'] }, 503);
    expect(refused).toMatchObject({ name: 'POST /v1/embeddings', statusCode: 2 });
    expect(refused.events).toContainEqual(expect.objectContaining({ name: 'exception' }));
    expect(refused.events.find((e) => e.name === 'exception')!.attributes['exception.message']).toMatch(/idle/);
    const notFound = await serverSpan({ model: 'nope', input: ['x'] }, 404);
    expect(notFound.attributes['http.response.status_code']).toBe(404);
    expect(notFound.statusCode).toBe(0);
    expect(notFound.events).toEqual([]);
  });
});
