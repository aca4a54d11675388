import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Writable } from 'node:stream';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { HttpLifecycle } from '../adapters/http/lifecycle.js';
import { startHttpServer, type HttpServer } from '../adapters/http/server.js';
import type { HttpEnv } from '../adapters/http/types.js';
import { MemoryModelCatalog } from '../adapters/memory/memory-model-catalog.js';
import { EmbeddingWorker } from '../application/embedding-worker.js';
import { WorkerPresence } from '../application/worker-presence.js';
import type { Clock } from '../ports/clock.js';
import type { EmbeddingModel } from '../ports/embedding-model.js';
import type { HealthCheck } from '../ports/health-check.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TaskEvents } from '../ports/task-events.js';
import type { TaskStore } from '../ports/task-store.js';
import type { WorkerRegistry } from '../ports/worker-registry.js';
import type { AppConfig, ModelEntry } from './config.js';
import {
  applicationModule,
  catalogModule,
  coreModule,
  healthModule,
  httpModule,
  newContainer,
  queueModule,
  storeModule,
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
  /** The API in modes `api` and `all`; the health endpoints alone in mode `worker`. */
  readonly app: OpenAPIHono<HttpEnv>;
  /** Bound port, when listening. */
  readonly port?: number;
  /** Resolves once every model this process serves has finished loading (or failed to). */
  readonly modelsSettled: Promise<void>;
  /** Stops taking requests and tasks, lets work in progress finish, closes adapters in reverse order. */
  stop(): Promise<void>;
}

type LoadState = { status: 'loading' } | { status: 'failed'; reason: string } | { status: 'loaded' };

/**
 * The composition root. It builds what the mode needs and nothing else:
 * - `api`: the HTTP API on the shared queue and store; loads no model;
 * - `worker`: loads its models, consumes their queues, serves health endpoints
 *   on `worker.health_port`;
 * - `all`: both in one process (the embedded default, with in-memory adapters).
 * The HTTP port opens at once, so liveness answers while models load;
 * readiness turns 200 when the queue, the store and the models are usable.
 */
export async function startService(config: AppConfig, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const { mode } = config.service;
  const servesApi = mode !== 'worker';
  const runsWorker = mode !== 'api';

  const { present: served, missing } = runsWorker ? await modelsToServe(config) : { present: [], missing: [] };
  const catalogEntries = runsWorker ? served : config.ml.models;
  const catalog = new MemoryModelCatalog(catalogEntries.map(toSpec), config.ml.default_model, runsWorker);
  const loadState = new Map<string, LoadState>(served.map((entry) => [entry.id, { status: 'loading' }]));
  const modelChecks: HealthCheck[] = served.map((entry) => ({
    name: `model:${entry.id}`,
    check: async () => {
      const state = loadState.get(entry.id);
      if (state?.status === 'loaded') return;
      throw new Error(state?.status === 'failed' ? `failed to load: ${state.reason}` : 'loading');
    },
  }));

  const container = newContainer(
    coreModule(config, overrides),
    queueModule(config),
    storeModule(config),
    catalogModule(catalog, modelChecks),
    applicationModule,
    servesApi ? httpModule : healthModule,
  );
  const logger = container.get<Logger>(TOKENS.Logger).child({ mode });
  const metrics = container.get<Metrics>(TOKENS.Metrics);
  const queue = container.get<TaskQueue>(TOKENS.TaskQueue);
  const store = container.get<TaskStore>(TOKENS.TaskStore);
  const events = container.get<TaskEvents>(TOKENS.TaskEvents);
  const registry = container.get<WorkerRegistry>(TOKENS.WorkerRegistry);
  const shipper = container.get<Writable | null>(TOKENS.LogShipper);
  metrics.watchQueueDepth(
    catalogEntries.map((entry) => entry.id),
    (model) => queue.depth(model),
  );
  const app = container.get<OpenAPIHono<HttpEnv>>(servesApi ? TOKENS.HttpApp : TOKENS.HealthApp);
  const lifecycle = container.get<HttpLifecycle>(TOKENS.HttpLifecycle);
  for (const entry of missing) logger.warn('model files are missing; not serving it', { model: entry.id, path: entry.path });

  const port = servesApi ? config.service.api.port : config.service.worker.health_port;
  const server: HttpServer | undefined =
    overrides.listen === false ? undefined : await startHttpServer(app.fetch, { host: config.service.api.host, port });
  if (server) logger.info('listening', { host: config.service.api.host, port: server.port });

  const models = new Map<string, EmbeddingModel>();
  const load = overrides.loadModel ?? ((entry: ModelEntry) => loadModel(entry, config.service.worker.intra_op_threads));
  let worker: EmbeddingWorker | undefined;
  let presence: WorkerPresence | undefined;
  let stopping = false;

  const modelsSettled = (async () => {
    if (!runsWorker) return;
    await Promise.all(
      served.map(async (entry) => {
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
          logger.info('model loaded', { model: entry.id, engine: entry.engine, seconds: Math.round(seconds * 1000) / 1000 });
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
      events,
      container.get<Clock>(TOKENS.Clock),
      metrics,
      logger.child({ component: 'worker' }),
      {
        prefetch: config.service.worker.prefetch,
        maxAttempts: config.service.worker.max_attempts,
        batching: {
          maxBatchSize: config.service.worker.max_batch_size,
          maxBatchTokens: config.service.worker.max_batch_tokens,
          lingerMs: config.service.worker.batch_linger_ms,
          mergeTasks: config.service.worker.batching,
        },
      },
    );
    await worker.start();
    if (models.size === 0) return;
    presence = new WorkerPresence(
      registry,
      { workerId: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, host: hostname(), models: [...models.keys()], startedAt: new Date() },
      config.service.worker.heartbeat_seconds,
      logger,
    );
    await presence.start();
  })();

  return {
    app,
    ...(server && { port: server.port }),
    modelsSettled,
    /**
     * Graceful shutdown, within `shutdown_grace_seconds`: new requests get 503
     * with Retry-After while those in flight finish (in mode all the worker
     * keeps serving them), then the worker stops consuming and settles what it
     * holds. Past the grace period, connections are closed with work still in
     * progress: unacknowledged tasks go back to the queue for another worker.
     */
    async stop() {
      stopping = true;
      lifecycle.startDraining();
      const drained = await within(config.service.shutdown_grace_seconds * 1000, async () => {
        await lifecycle.idle();
        await modelsSettled.catch(() => undefined);
        await presence?.stop();
        await worker?.stop();
      });
      if (!drained) logger.warn('grace period over; closing with work in progress, which returns to the queue');
      await server?.close(!drained);
      await queue.close();
      await events.close();
      await registry.close();
      await store.close();
      await Promise.all([...models.values()].map((m) => m.close()));
      logger.info('stopped');
      if (shipper) await new Promise<void>((resolve) => shipper.end(resolve));
      await container.unbindAllAsync();
    },
  };

}

/** Runs `work`; false if it was still running after `ms` (it is left to finish or fail on its own). */
async function within(ms: number, work: () => Promise<void>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  const done = work().then(
    () => true as const,
    () => true as const,
  );
  const result = await Promise.race([done, timeout]);
  clearTimeout(timer);
  return result;
}

/** The worker's models: those named in worker.models (else all), split by whether their files are here. */
async function modelsToServe(config: AppConfig): Promise<{ present: ModelEntry[]; missing: ModelEntry[] }> {
  const wanted = config.service.worker.models;
  const candidates = config.ml.models.filter((m) => wanted.length === 0 || wanted.includes(m.id));
  const present: ModelEntry[] = [];
  const missing: ModelEntry[] = [];
  for (const entry of candidates) ((await isPresent(entry)) ? present : missing).push(entry);
  return { present, missing };
}
