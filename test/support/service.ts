import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import type { AppConfig, ModelEntry, ModelEntryInput } from '../../src/bootstrap/config/schema.js';
import { startService, type RunningService } from '../../src/bootstrap/service.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';
import { writeBertFolder, writeCrossEncoderFolder } from './bert-fixture.js';
import { LogSink } from './log-sink.js';
import { writeMlConfig } from './ml-config.js';
import { REPO_ROOT } from './paths.js';

/** `tiny-bert`'s prompts, as intfloat/e5-* configure theirs. */
export const TINY_BERT_PROMPTS = { query: 'query: ', passage: 'passage: ' };

export interface TestService {
  readonly service: RunningService;
  readonly config: AppConfig;
  readonly logs: LogSink;
  /** The in-memory metrics, unless `prometheus` was asked for. */
  readonly metrics: MemoryMetrics | undefined;
  /** app.request() with a JSON body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  readonly env?: Record<string, string>;
  readonly listen?: boolean;
  /** Also configure USE-lite (slower to load). */
  readonly withUseLite?: boolean;
  /** Also configure a generated cross-encoder (`tiny-reranker`, 32 tokens). */
  readonly withReranker?: boolean;
  /** Also configure `tiny-bert-strict`: tiny-bert's files, refusing a text too long for it unless asked to cut (`long_text: error`). */
  readonly withStrictCopy?: boolean;
  /** Gives each model a `queue` name (a test namespace's, on a shared broker). */
  readonly queueName?: (model: string) => string;
  readonly loadModel?: (entry: ModelEntry) => Promise<EmbeddingModel>;
  /** Seeds tiny-bert's weights (42 by default): another seed is another model in the same files' places. */
  readonly seed?: number;
  /** Record metrics with the production Prometheus adapter (and serve /metrics) instead of the in-memory one. */
  readonly prometheus?: boolean;
  /** Log as configured (stdout, and Elasticsearch with LOGGER_HANDLER) instead of to `logs`. */
  readonly shipLogs?: boolean;
}

/**
 * The service as `npm start` builds it (the embedded mode, unless `env` says
 * otherwise), with a generated BERT model (`tiny-bert`, the default), a
 * configured model whose files are absent (`absent-model`), and optionally
 * USE-lite.
 */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = await mkdtemp(join(tmpdir(), 'embedding-service-'));
  const bert = await writeBertFolder(join(dir, 'tiny-bert'), { maxSeqLength: 32, ...(options.seed !== undefined && { seed: options.seed }) });
  const configured: ModelEntryInput[] = [
    // Prompts as e5's: none is applied unless a request asks for one.
    { id: 'tiny-bert', engine: 'onnx', path: bert, output_dimensions: [16, 8], prompts: TINY_BERT_PROMPTS },
    { id: 'absent-model', engine: 'onnx', path: join(dir, 'nothing-here') },
  ];
  if (options.withStrictCopy) configured.push({ id: 'tiny-bert-strict', engine: 'onnx', path: bert, long_text: 'error' });
  if (options.withUseLite) configured.push({ id: 'use-lite', engine: 'use-lite', max_tokens: 128 });
  if (options.withReranker) {
    const reranker = await writeCrossEncoderFolder(join(dir, 'tiny-reranker'), { maxLength: 32 });
    configured.push({ id: 'tiny-reranker', kind: 'reranker', engine: 'onnx', path: reranker });
  }
  const models = configured.map((m) => (options.queueName ? { ...m, queue: options.queueName(m.id) } : m));
  const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'tiny-bert', models);

  const loaded = loadConfig({
    env: { ML_CONFIG_PATH: mlConfig, API_HOST: '127.0.0.1', API_PORT: '8000', WORKER_THREADS: '1', FILES_DIR: join(dir, 'files'), ...options.env },
    cwd: REPO_ROOT,
  });
  // Listening tests take any free port, which the configuration cannot say.
  const config = options.listen ? { ...loaded, service: { ...loaded.service, api: { ...loaded.service.api, port: 0 } } } : loaded;
  const logs = new LogSink();
  const metrics = options.prometheus ? undefined : new MemoryMetrics();
  const service = await startService(config, {
    ...(!options.shipLogs && { logger: createPinoLogger({ level: 'debug', destination: logs }) }),
    ...(metrics && { metrics }),
    listen: options.listen ?? false,
    ...(options.loadModel && { loadModel: options.loadModel }),
  });
  const request = (path: string, init: RequestInit) => Promise.resolve(service.app.request(path, init));
  return {
    service,
    config,
    logs,
    metrics,
    post: (path, body, headers = {}) =>
      request(path, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...headers },
      }),
    get: (path, headers = {}) => request(path, { headers }),
    stop: async () => {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A listening test service for the tests around the call (a file's, or a
 * describe's): started, its models loaded, before them, and stopped after.
 * `t` and `base` are read in the tests, once it has started.
 */
export function serveForTests(options: TestServiceOptions = {}): { readonly t: TestService; readonly base: string } {
  return startedForTests(() => startTestService({ ...options, listen: true }));
}

/** As `serveForTests`, for a service its caller starts (a behaviour suite run on several set-ups). */
export function startedForTests(start: () => Promise<TestService>): { readonly t: TestService; readonly base: string } {
  let service: TestService | undefined;
  beforeAll(async () => {
    service = await start();
    await service.service.modelsSettled;
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
  });
  return {
    get t() {
      return service!;
    },
    get base() {
      return `http://127.0.0.1:${service!.service.port}`;
    },
  };
}
