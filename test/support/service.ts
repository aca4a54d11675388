import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { loadConfig, type AppConfig, type ModelEntry } from '../../src/bootstrap/config.js';
import { startService, type RunningService } from '../../src/bootstrap/service.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';
import { writeBertFolder } from './bert-fixture.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** A pino destination that keeps every JSON line, so tests can read the logs back. */
export class LogSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(JSON.parse(line));
    done();
  }
}

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
  readonly loadModel?: (entry: ModelEntry) => Promise<EmbeddingModel>;
  /** Record metrics with the production Prometheus adapter (and serve /metrics) instead of the in-memory one. */
  readonly prometheus?: boolean;
  /** Log as configured (stdout, and Elasticsearch with LOGGER_HANDLER) instead of to `logs`. */
  readonly shipLogs?: boolean;
}

/**
 * The embedded service as `npm start` builds it, with a generated BERT model
 * (`tiny-bert`, the default), a configured model whose files are absent
 * (`absent-model`), and optionally USE-lite.
 */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dir = await mkdtemp(join(tmpdir(), 'embedding-service-'));
  const bert = await writeBertFolder(join(dir, 'tiny-bert'), { maxSeqLength: 32 });
  const models = [
    `  - { id: tiny-bert, engine: onnx, path: ${JSON.stringify(bert)}, output_dimensions: [16, 8] }`,
    `  - { id: absent-model, engine: onnx, path: ${JSON.stringify(join(dir, 'nothing-here'))} }`,
  ];
  if (options.withUseLite) models.push('  - { id: use-lite, engine: use-lite, max_tokens: 128 }');
  const mlConfig = join(dir, 'ml_config.yaml');
  await writeFile(mlConfig, `default_model: tiny-bert\nmodels:\n${models.join('\n')}\n`);

  const config = loadConfig({
    env: { ML_CONFIG_PATH: mlConfig, API_HOST: '127.0.0.1', API_PORT: '8000', WORKER_THREADS: '1', ...options.env },
    cwd: REPO_ROOT,
  });
  const logs = new LogSink();
  const metrics = options.prometheus ? undefined : new MemoryMetrics();
  const service = await startService(
    options.listen ? { ...config, service: { ...config.service, api: { ...config.service.api, port: 0 } } } : config,
    {
      ...(!options.shipLogs && { logger: createPinoLogger({ level: 'debug', destination: logs }) }),
      ...(metrics && { metrics }),
      listen: options.listen ?? false,
      ...(options.loadModel && { loadModel: options.loadModel }),
    },
  );
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
