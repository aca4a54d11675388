import type { OpenAPIHono } from '@hono/zod-openapi';
import { ContainerModule } from 'inversify';
import { createHealthApp, createHttpApp, type HttpEnv, type HttpObservers } from '../../adapters/http/app.js';
import { HttpLifecycle } from '../../adapters/http/middleware/draining.js';
import { startHttpServer, type HttpServer, type HttpServerOptions } from '../../adapters/http/server.js';
import { BatchJobs } from '../../application/batches/batch-jobs.js';
import { CancelTask } from '../../application/embeddings/cancel-task.js';
import { CheckReadiness } from '../../application/operations/check-readiness.js';
import { CreateEmbeddings } from '../../application/embeddings/create-embeddings.js';
import { RerankDocuments } from '../../application/rerank/rerank-documents.js';
import { EnforceRateLimits } from '../../application/access/enforce-rate-limits.js';
import { FileLibrary } from '../../application/files/file-library.js';
import { OperatorConsole } from '../../application/operations/operator-console.js';
import { GetModel } from '../../application/models/get-model.js';
import { GetTaskStatus } from '../../application/embeddings/get-task-status.js';
import { ListModels } from '../../application/models/list-models.js';
import { ModelTokens } from '../../application/models/model-tokens.js';
import { SubmitEmbedding } from '../../application/embeddings/submit-embedding.js';
import type { Logger } from '../../ports/logger.js';
import type { StoreBudget } from '../../ports/store-budget.js';
import type { TracingRuntime } from '../../adapters/opentelemetry/tracing-runtime.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { SERVICE_VERSION } from '../version.js';
import { untilAborted, type Component } from '../lifecycle.js';
import { provide } from '../tokens.js';

/** Seconds a client is told to wait before retrying against a draining process. */
const DRAINING_RETRY_AFTER_SECONDS = 5;

/**
 * The HTTP side of a process: the whole API in modes `api` and `all`, the
 * health endpoints alone (on `worker.health_port`) in mode `worker`; and the
 * server that serves it, unless `listen` is false (tests drive
 * `app.request()` themselves).
 */
export function httpModule(config: AppConfig, options: { servesApi: boolean; listen: boolean }): ContainerModule {
  const { api, worker } = config.service;
  return new ContainerModule(({ bind }) => {
    provide(bind, HttpLifecycle, {}, () => new HttpLifecycle(DRAINING_RETRY_AFTER_SECONDS));
    const observed = {
      logger: TOKENS.Logger,
      metrics: TOKENS.Metrics,
      exposition: TOKENS.MetricsExposition,
      lifecycle: HttpLifecycle,
      budget: TOKENS.StoreBudget,
      tracing: TOKENS.Tracing,
    };
    const { metrics_token: metricsToken } = config.service.auth;
    const observers = ({
      logger,
      metrics,
      exposition,
      lifecycle,
      budget,
      tracing,
    }: Omit<HttpObservers, 'storeTime' | 'tracing'> & { budget: StoreBudget; tracing: TracingRuntime | undefined }): HttpObservers => ({
      logger,
      metrics,
      lifecycle,
      // Only a store across the network can stall; in memory, the async context it costs would buy nothing.
      ...(config.service.store.driver === 'redis' && { storeTime: { budget, ms: config.service.redis.command_timeout_ms } }),
      ...(exposition && { exposition }),
      ...(metricsToken && { metricsToken }),
      ...(tracing && { tracing: tracing.tracing }),
    });
    if (options.servesApi) {
      provide(
        bind,
        TOKENS.HttpApp,
        {
          ...observed,
          submitEmbedding: SubmitEmbedding,
          getTaskStatus: GetTaskStatus,
          listModels: ListModels,
          getModel: GetModel,
          modelTokens: ModelTokens,
          checkReadiness: CheckReadiness,
          createEmbeddings: CreateEmbeddings,
          rerank: RerankDocuments,
          cancelTask: CancelTask,
          operatorConsole: OperatorConsole,
          files: FileLibrary,
          batches: BatchJobs,
          rateLimits: EnforceRateLimits,
          limits: TOKENS.Limits,
          keys: TOKENS.KeyRing,
        },
        (d) =>
          createHttpApp(
            d,
            {
              bodyLimitBytes: api.body_limit_bytes,
              defaultModelId: config.ml.default_model,
              limits: d.limits,
              keys: d.keys,
              corsOrigins: config.service.cors.origins,
              version: SERVICE_VERSION,
              tei: {
                maxConcurrentRequests: config.service.queue.max_length,
                maxBatchTokens: worker.max_batch_tokens,
                maxBatchRequests: worker.max_batch_size,
                maxClientBatchSize: config.service.limits.max_inputs,
              },
              console: {
                ...(config.service.console.user && { user: config.service.console.user }),
                ...(config.service.console.password && { password: config.service.console.password }),
              },
            },
            observers(d),
          ),
      );
    } else {
      provide(bind, TOKENS.HttpApp, { ...observed, checkReadiness: CheckReadiness }, (d) =>
        createHealthApp(d.checkReadiness, observers(d)),
      );
    }
    const port = options.servesApi ? api.port : worker.health_port;
    provide(
      bind,
      TOKENS.HttpServing,
      { app: TOKENS.HttpApp, drain: HttpLifecycle, logger: TOKENS.Logger },
      ({ app, drain, logger }) =>
        new HttpServing(
          app,
          drain,
          logger,
          options.listen
            ? { host: api.host, port, headersTimeoutMs: api.headers_timeout_seconds * 1000, requestTimeoutMs: api.request_timeout_seconds * 1000 }
            : undefined,
        ),
    );
  });
}

/**
 * Serving HTTP. It starts last, so the port opens once everything behind it
 * is there (models may still be loading: liveness answers, readiness says
 * so), and stops first: new requests get 503 with Retry-After while those in
 * flight finish, then the server closes. Past the grace period, connections
 * still busy are cut.
 */
class HttpServing implements Component {
  readonly name = 'http';
  private server: HttpServer | undefined;

  constructor(
    private readonly app: OpenAPIHono<HttpEnv>,
    private readonly drain: HttpLifecycle,
    private readonly logger: Logger,
    private readonly address: HttpServerOptions | undefined,
  ) {}

  get port(): number | undefined {
    return this.server?.port;
  }

  async start(): Promise<void> {
    if (!this.address) return;
    this.server = await startHttpServer(this.app.fetch, this.address);
    this.logger.info('listening', { host: this.address.host, port: this.server.port });
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.drain.startDraining();
    const drained = await untilAborted(this.drain.idle(), deadline);
    await this.server?.close(!drained);
  }
}
