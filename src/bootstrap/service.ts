import type { OpenAPIHono } from '@hono/zod-openapi';
import { MemoryModelCatalog } from '../adapters/memory/memory-model-catalog.js';
import { startHttpServer, type HttpServer } from '../adapters/http/server.js';
import { EmbeddingWorker } from '../application/embedding-worker.js';
import type { Clock } from '../ports/clock.js';
import type { EmbeddingModel } from '../ports/embedding-model.js';
import type { HealthCheck } from '../ports/health-check.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TaskStore } from '../ports/task-store.js';
import type { AppConfig, ModelEntry } from './config.js';
import {
  applicationModule,
  catalogModule,
  coreModule,
  httpModule,
  memoryModule,
  newContainer,
  TOKENS,
  type CoreOverrides,
} from './container.js';
import { isPresent, loadModel, toSpec } from './models.js';

export interface ServiceOverrides extends CoreOverrides {
  /** Replaces loading a model from its configured files (tests inject generated models). */
  readonly loadModel?: (entry: ModelEntry) => Promise<EmbeddingModel>;
  /** Skip binding a TCP port; the caller drives `app.request()` itself. */
  readonly listen?: boolean;
}

export interface RunningService {
  readonly app: OpenAPIHono<never> | OpenAPIHono<{ Variables: { requestId: string } }>;
  /** Bound port, when listening. */
  readonly port?: number;
  /** Resolves once every present model has finished loading (or failed to). */
  readonly modelsSettled: Promise<void>;
  /** Stops taking requests and tasks, lets work in progress finish, closes adapters in reverse order. */
  stop(): Promise<void>;
}

/**
 * The composition root for mode `all`: API and worker in one process, sharing
 * the in-memory queue and store. The HTTP port opens at once, so liveness
 * answers while models load; readiness turns 200 when they have.
 */
export async function startEmbeddedService(config: AppConfig, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const present: ModelEntry[] = [];
  for (const entry of config.ml.models) if (await isPresent(entry)) present.push(entry);

  const catalog = new MemoryModelCatalog(present.map(toSpec), config.ml.default_model);
  const loadState = new Map<string, { status: 'loading' } | { status: 'failed'; reason: string } | { status: 'loaded' }>(
    present.map((entry) => [entry.id, { status: 'loading' }]),
  );
  const modelChecks: HealthCheck[] = present.map((entry) => ({
    name: `model:${entry.id}`,
    check: async () => {
      const state = loadState.get(entry.id);
      if (state?.status === 'loaded') return;
      throw new Error(state?.status === 'failed' ? `failed to load: ${state.reason}` : 'loading');
    },
  }));

  const container = newContainer(
    coreModule(config, overrides),
    memoryModule(config),
    catalogModule(catalog, modelChecks),
    applicationModule,
    httpModule,
  );
  const logger = container.get<Logger>(TOKENS.Logger);
  const metrics = container.get<Metrics>(TOKENS.Metrics);
  const queue = container.get<TaskQueue>(TOKENS.TaskQueue);
  const store = container.get<TaskStore>(TOKENS.TaskStore);
  const app = container.get<RunningService['app']>(TOKENS.HttpApp);

  for (const entry of config.ml.models.filter((e) => !present.includes(e))) {
    logger.warn('model files are missing; not serving it', { model: entry.id, path: entry.path });
  }

  const server: HttpServer | undefined =
    overrides.listen === false
      ? undefined
      : await startHttpServer(app.fetch, { host: config.service.api.host, port: config.service.api.port });
  if (server) logger.info('listening', { host: config.service.api.host, port: server.port });

  const models = new Map<string, EmbeddingModel>();
  const load = overrides.loadModel ?? ((entry: ModelEntry) => loadModel(entry, config.service.worker.intra_op_threads));
  let worker: EmbeddingWorker | undefined;
  let stopping = false;

  const modelsSettled = (async () => {
    await Promise.all(
      present.map(async (entry) => {
        const started = performance.now();
        try {
          const model = await load(entry);
          if (stopping) {
            await model.close();
            return;
          }
          models.set(entry.id, model);
          catalog.markLoaded(model.info);
          loadState.set(entry.id, { status: 'loaded' });
          const seconds = (performance.now() - started) / 1000;
          metrics.modelLoaded(entry.id, seconds);
          logger.info('model loaded', { model: entry.id, engine: entry.engine, seconds: round(seconds) });
        } catch (error) {
          loadState.set(entry.id, { status: 'failed', reason: (error as Error).message });
          logger.error('model failed to load', { model: entry.id, err: error });
        }
      }),
    );
    if (stopping) return;
    worker = new EmbeddingWorker(
      models,
      queue,
      store,
      container.get<Clock>(TOKENS.Clock),
      metrics,
      logger.child({ component: 'worker' }),
      { prefetch: config.service.worker.prefetch },
    );
    await worker.start();
  })();

  return {
    app,
    ...(server && { port: server.port }),
    modelsSettled,
    async stop() {
      stopping = true;
      await server?.close();
      await modelsSettled;
      await worker?.stop();
      await queue.close();
      await store.close();
      await Promise.all([...models.values()].map((m) => m.close()));
      await container.unbindAllAsync();
      logger.info('stopped');
    },
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
