import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ElasticsearchLogStream } from '../../src/adapters/elasticsearch/elasticsearch-log-stream.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { startFakeElasticsearch, type FakeElasticsearch } from '../support/fake-elasticsearch.js';
import { dashboardMetrics, exportedNames } from '../support/dashboards.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe('metrics of a service that has served nothing yet', () => {
  it('exports every series a dashboard charts, at zero for the known label values', async () => {
    const t = await startTestService({ prometheus: true });
    try {
      // A model's load time is known once it has loaded.
      await t.service.modelsSettled;
      // HTTP series are labelled by route and status, so they appear with the first request: Prometheus's own first scrape.
      await t.get('/metrics');
      const text = await (await t.get('/metrics')).text();
      const exported = exportedNames(text);
      const { ours } = await dashboardMetrics();
      expect([...ours].filter((name) => !exported.has(name))).toEqual([]);
      for (const status of ['completed', 'failed', 'expired', 'cancelled']) expect(text).toContain(`embedding_batches_total{status="${status}"} 0\n`);
      expect(text).toContain('embedding_batch_lines_total{outcome="completed"} 0\n');
      expect(text).toContain('embedding_file_bytes_stored_total{purpose="batch_output"} 0\n');
      expect(text).toContain('embedding_tasks_completed_total{model="tiny-bert",outcome="succeeded"} 0\n');
      expect(text).toContain('embedding_messages_dead_lettered_total{model="tiny-bert",kind="attempts_exhausted"} 0\n');
      expect(text).toContain('embedding_inference_batch_size_count{model="tiny-bert"} 0\n');
    } finally {
      await t.stop();
    }
  });
});

describe('metrics', () => {
  let t: TestService;
  let uploaded = 0;
  beforeAll(async () => {
    t = await startTestService({ prometheus: true });
    await t.service.modelsSettled;
    // Some of every kind of traffic: tasks, a long poll, the sync route, a failure, a 404.
    const { id } = (await (await t.post('/v1/embeddings/tasks', { input: ['one', 'two'] })).json()) as { id: string };
    await t.get(`/v1/embeddings/tasks/${id}?wait=10`);
    await t.post('/v1/embeddings', { model: 'tiny-bert', input: 'sync' });
    await t.post('/v1/embeddings', { model: 'tiny-bert', input: [99999999] });
    await t.get('/v1/embeddings/tasks/missing');
    // A batch of two lines, one of them bad: a file stored, lines answered both ways, a batch ended.
    const lines = [JSON.stringify({ custom_id: 'ok', method: 'POST', url: '/v1/embeddings', body: { input: 'fine' } }), '{ not json'];
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${lines.join('\n')}\n`]), 'in.jsonl');
    const file = (await (await t.service.app.request('/v1/files', { method: 'POST', body: form })).json()) as { id: string; bytes: number };
    uploaded = file.bytes;
    const batch = (await (await t.post('/v1/batches', { input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' })).json()) as { id: string };
    await waitFor(async () => ((await (await t.get(`/v1/batches/${batch.id}`)).json()) as { status: string }).status === 'completed');
  });
  afterAll(async () => {
    await t.stop();
  });

  it('exports every metric that a dashboard query names', async () => {
    const response = await t.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const exported = exportedNames(await response.text());
    const { ours } = await dashboardMetrics();
    expect(ours.size).toBeGreaterThan(10);
    const missing = [...ours].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('labels HTTP series by matched route, not raw path, and counts tasks by outcome', async () => {
    const text = await (await t.get('/metrics')).text();
    expect(text).toContain('embedding_http_requests_total{method="GET",route="/v1/embeddings/tasks/:id",status="404"}');
    expect(text).not.toContain('/v1/embeddings/tasks/missing');
    expect(text).toMatch(/embedding_tasks_completed_total\{model="tiny-bert",outcome="failed"\} 1/);
    expect(text).toMatch(/embedding_queue_depth\{model="tiny-bert"\} 0/);
  });

  it('counts batches by how they ended, their lines by outcome, and the bytes of files stored', async () => {
    const text = await (await t.get('/metrics')).text();
    expect(text).toMatch(/embedding_batches_total\{status="completed"\} 1\n/);
    expect(text).toMatch(/embedding_batch_lines_total\{outcome="completed"\} 1\n/);
    expect(text).toMatch(/embedding_batch_lines_total\{outcome="failed"\} 1\n/);
    expect(text).toContain(`embedding_file_bytes_stored_total{purpose="batch"} ${uploaded}\n`);
    expect(Number(/embedding_file_bytes_stored_total\{purpose="batch_output"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(0);
    expect(text).toMatch(/embedding_batches_running 0\n/);
  });
});

describe('log shipping to Elasticsearch', () => {
  let es: FakeElasticsearch;
  beforeAll(async () => {
    es = await startFakeElasticsearch();
  });
  afterAll(async () => {
    await es.close();
  });

  const shipping = (node: string, extra: Partial<ConstructorParameters<typeof ElasticsearchLogStream>[0]> = {}) => {
    let dropped = 0;
    const stream = new ElasticsearchLogStream({
      node,
      dataStream: 'logs-embedding-test',
      batchSize: 3,
      flushIntervalMs: 50,
      maxBuffered: 100,
      onDropped: (n) => (dropped += n),
      requestTimeoutMs: 500,
      ...extra,
    });
    const stdout: string[] = [];
    const logger = createPinoLogger({ level: 'info', destination: { write: (line: string) => stdout.push(line) }, alsoTo: stream });
    return { stream, logger, stdout, dropped: () => dropped };
  };

  it('sends batches through _bulk as NDJSON, with the product header handshake and the index template', async () => {
    const { stream, logger } = shipping(es.url);
    for (let i = 0; i < 7; i++) logger.child({ requestId: `r${i}`, taskId: `t${i}`, model: 'm' }).info('task accepted', { n: i });
    await waitFor(() => es.bulks.reduce((n, b) => n + b.lines.length / 2, 0) === 7);
    await new Promise<void>((resolve) => stream.end(resolve));

    expect(es.templates[0]).toMatchObject({ path: '/_index_template/logs-embedding-test' });
    expect(es.templates[0]!.body).toMatchObject({ index_patterns: ['logs-embedding-test*'], data_stream: {} });
    const bulk = es.bulks[0]!;
    expect(bulk.path).toBe('/logs-embedding-test/_bulk');
    expect(bulk.contentType).toMatch(/^application\/vnd\.elasticsearch\+x-ndjson/);
    expect(bulk.lines.length).toBeLessThanOrEqual(6);
    expect(bulk.lines[0]).toEqual({ create: {} });
    expect(bulk.lines[1]).toMatchObject({ level: 'info', message: 'task accepted', requestId: 'r0', taskId: 't0', model: 'm', n: 0 });
    expect(Date.parse(bulk.lines[1]!['@timestamp'] as string)).not.toBeNaN();
  });

  it('with Elasticsearch down, keeps logging to stdout, counts the dropped records, and never blocks', async () => {
    const { stream, logger, stdout, dropped } = shipping('http://127.0.0.1:1');
    const started = performance.now();
    for (let i = 0; i < 20; i++) logger.info('still here', { i });
    expect(performance.now() - started).toBeLessThan(200);
    expect(stdout).toHaveLength(20);
    await waitFor(() => dropped() === 20, 5_000, 'every record to be counted as dropped');
    await new Promise<void>((resolve) => stream.end(resolve));
  });

  it('bounds its buffer while Elasticsearch is slow, dropping (and counting) the overflow', async () => {
    es.delayMs = 1_000;
    const { stream, logger, dropped } = shipping(es.url, { maxBuffered: 5, batchSize: 5, flushIntervalMs: 10_000 });
    for (let i = 0; i < 12; i++) logger.info('burst', { i });
    // Five go out in a bulk request that hangs, five more wait in the buffer, and the other two are dropped.
    expect(dropped()).toBe(2);
    await waitFor(() => es.bulks.length >= 1, 3_000);
    es.delayMs = 0;
    await new Promise<void>((resolve) => stream.end(resolve));
  });

  it('keeps the service answering while Elasticsearch is unreachable, counting what it could not ship', async () => {
    const t = await startTestService({
      prometheus: true,
      shipLogs: true,
      env: { LOGGER_HANDLER: 'elasticsearch', ELASTICSEARCH_HOST: '127.0.0.1', ELASTICSEARCH_PORT: '1', LOG_LEVEL: 'warn' },
    });
    try {
      await t.service.modelsSettled;
      for (let i = 0; i < 3; i++) {
        const response = await t.post('/v1/embeddings/tasks', { input: '' });
        expect(response.status).toBe(422);
      }
      // At LOG_LEVEL=warn the access lines stay quiet; the missing model's warning and this failed task's are shipped.
      const done = await t.post('/v1/embeddings', { model: 'tiny-bert', input: [99999999] });
      expect(done.status).toBe(422);
      await waitFor(async () => {
        const text = await (await t.get('/metrics')).text();
        return Number(/embedding_log_records_dropped_total (\d+)/.exec(text)?.[1] ?? 0) > 0;
      }, 5_000, 'dropped records to be counted');
    } finally {
      await t.stop();
    }
  });
});
