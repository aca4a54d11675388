import 'reflect-metadata';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { Container } from 'inversify';
import type { HttpEnv } from '../adapters/http/types.js';
import type { AppConfig, ModelEntry } from './config/schema.js';
import { modelsToServe } from './engines.js';
import { OperatorConsole } from '../application/operations/operator-console.js';
import { TOKENS } from './identifiers.js';
import { closing, Lifecycle, type Component } from './lifecycle.js';
import { batchesModule } from './modules/batches.js';
import { coreModule, type CoreOverrides } from './modules/core.js';
import { embeddingsModule } from './modules/embeddings.js';
import { cacheModule } from './modules/cache.js';
import { rerankModule } from './modules/rerank.js';
import { httpModule } from './modules/http.js';
import { queueModule, storeModule } from './modules/infrastructure.js';
import { modelsModule, type LoadModel } from './modules/models.js';
import { operationsModule } from './modules/operations.js';
import { workerModule } from './modules/worker.js';
import { resolve, type Token } from './tokens.js';

/** Addresses only this machine can reach: an open service there is a developer's, not an exposed one. */
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export interface ServiceOverrides extends CoreOverrides {
  /** Replaces loading a model from its configured files (tests inject generated models). */
  readonly loadModel?: LoadModel;
  /** Skip binding a TCP port; the caller drives `app.request()` itself. */
  readonly listen?: boolean;
}

export interface RunningService {
  /** The API in modes `api` and `all`; the health endpoints alone in mode `worker`. */
  readonly app: OpenAPIHono<HttpEnv>;
  /** Bound port, when listening. */
  readonly port?: number;
  /** Resolves once every model this process serves has loaded (or failed to) and the worker consumes. */
  readonly modelsSettled: Promise<void>;
  /** Stops taking requests and tasks, lets work in progress finish, closes in reverse order of start. */
  stop(): Promise<void>;
}

/**
 * The composition root. It builds what the mode needs and nothing else:
 * - `api`: the HTTP API on the shared queue and store; loads no model;
 * - `worker`: loads its models, consumes their queues, serves health endpoints
 *   on `worker.health_port`;
 * - `all`: both in one process (the embedded default, with in-memory adapters).
 */
export async function startService(config: AppConfig, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const { mode } = config.service;
  const runsWorker = mode !== 'api';
  const { present: served, missing } = runsWorker ? await modelsToServe(config) : { present: undefined, missing: [] };

  const container = buildContainer(config, served, overrides);
  const logger = resolve(container, TOKENS.Logger).child({ mode });
  for (const entry of missing) logger.warn('model files are missing; not serving it', { model: entry.id, path: entry.path });

  const get = (token: Token<Component>) => () => resolve(container, token);
  const adapter = (name: string, token: Token<{ close(): Promise<void> }>) => () => closing(name, resolve(container, token));
  const components: ReadonlyArray<() => Component> = [
    // First, so that every other component's spans are traced, and stopped last, exporting the spans of the shutdown.
    (): Component => {
      const tracing = resolve(container, TOKENS.Tracing);
      return { name: 'tracing', start: async () => tracing?.start(), stop: async () => tracing?.shutdown() };
    },
    () => closing('log shipping', { close: () => endStream(resolve(container, TOKENS.LogShipper)) }),
    adapter('store', TOKENS.TaskStore),
    adapter('task events', TOKENS.TaskEvents),
    adapter('worker registry', TOKENS.WorkerRegistry),
    ...(mode !== 'worker'
      ? [
          adapter('rate limiter', TOKENS.RateLimiter),
          () => closing('embedding cache', resolve(container, TOKENS.EmbeddingCache) ?? { close: async () => {} }),
          adapter('file store', TOKENS.FileStore),
          adapter('batch store', TOKENS.BatchStore),
          (): Component => {
            const operatorConsole = resolve(container, OperatorConsole);
            return { name: 'operator console', start: async () => operatorConsole.start(), stop: async () => operatorConsole.close() };
          },
        ]
      : []),
    adapter('queue', TOKENS.TaskQueue),
    ...(runsWorker ? [get(TOKENS.WorkerRuntime)] : []),
    ...(mode !== 'worker' ? [get(TOKENS.BatchRunning)] : []),
    get(TOKENS.HttpServing),
  ];
  const lifecycle = new Lifecycle(logger);
  await lifecycle.start(components);

  const http = resolve(container, TOKENS.HttpServing);
  const port = http.port;
  const { host } = config.service.api;
  if (mode !== 'worker' && port !== undefined && resolve(container, TOKENS.KeyRing).open && !LOOPBACK.test(host)) {
    logger.warn('no API keys are configured: anyone who can reach this address can use the service (set API_KEYS or API_KEYS_FILE)', {
      host,
      port,
    });
  }
  return {
    app: resolve(container, TOKENS.HttpApp),
    ...(port !== undefined && { port }),
    modelsSettled: runsWorker ? resolve(container, TOKENS.WorkerRuntime).settled : Promise.resolve(),
    async stop() {
      await lifecycle.stop(config.service.shutdown_grace_seconds * 1000);
      logger.info('stopped');
      await container.unbindAllAsync();
    },
  };
}

/**
 * The container of a mode: the modules it needs, loaded and nothing built
 * yet. `served` are the models a worker process serves (undefined in mode
 * `api`). Nothing connects until something is resolved.
 */
export function buildContainer(config: AppConfig, served: readonly ModelEntry[] | undefined, overrides: ServiceOverrides = {}): Container {
  const { mode } = config.service;
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(
    coreModule(config, (served ?? config.ml.models).map((m) => m.id), overrides),
    queueModule(config),
    storeModule(config),
    modelsModule(config, served, overrides.loadModel),
    embeddingsModule(config),
    cacheModule(config),
    rerankModule(config),
    operationsModule(config, served !== undefined),
    httpModule(config, { servesApi: mode !== 'worker', listen: overrides.listen ?? true }),
    ...(mode !== 'worker' ? [batchesModule(config)] : []),
    ...(served ? [workerModule(config)] : []),
  );
  return container;
}

function endStream(stream: NodeJS.WritableStream | undefined): Promise<void> {
  return new Promise<void>((done) => (stream ? stream.end(done) : done()));
}
