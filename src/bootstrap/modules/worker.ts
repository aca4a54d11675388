import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ContainerModule } from 'inversify';
import { EmbeddingWorker } from '../../application/worker/embedding-worker.js';
import { ModelHost } from '../../application/worker/model-host.js';
import { WorkerPresence } from '../../application/worker/worker-presence.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import { untilAborted, type Component } from '../lifecycle.js';
import { provide } from '../tokens.js';

/** The worker of a process that serves models: it consumes their queues once they have loaded, and reports in. */
export function workerModule(config: AppConfig): ContainerModule {
  const { worker } = config.service;
  return new ContainerModule(({ bind }) => {
    provide(
      bind,
      EmbeddingWorker,
      {
        host: ModelHost,
        limits: TOKENS.Limits,
        queue: TOKENS.TaskQueue,
        store: TOKENS.TaskStore,
        events: TOKENS.TaskEvents,
        clock: TOKENS.Clock,
        metrics: TOKENS.Metrics,
        logger: TOKENS.Logger,
        tracing: TOKENS.Tracing,
      },
      (d) =>
        new EmbeddingWorker(d.host, d.queue, d.store, d.events, d.clock, d.metrics, d.logger.child({ component: 'worker' }), {
          prefetch: worker.prefetch,
          // Two batches' worth of bulk lines: the model stays busy while the next ones are fetched.
          bulkPrefetch: Math.max(2, Math.ceil((2 * worker.max_batch_size) / config.service.batches.chunk_inputs)),
          maxAttempts: worker.max_attempts,
          limits: d.limits,
          batching: {
            maxBatchSize: worker.max_batch_size,
            maxBulkBatchSize: worker.bulk_batch_size,
            maxBatchTokens: worker.max_batch_tokens,
            lingerMs: worker.batch_linger_ms,
            mergeTasks: worker.batching,
          },
        }, d.tracing?.tracing),
    );
    provide(
      bind,
      WorkerPresence,
      { registry: TOKENS.WorkerRegistry, logger: TOKENS.Logger, worker: EmbeddingWorker },
      ({ registry, logger, worker: embeddingWorker }) => {
        const host = hostname();
        const identity = { workerId: `${host}-${process.pid}-${randomUUID().slice(0, 8)}`, host, pid: process.pid, startedAt: new Date() };
        return new WorkerPresence(registry, identity, worker.heartbeat_seconds, logger, () => ({
          ...embeddingWorker.report(),
          rssBytes: process.memoryUsage.rss(),
          reportedAt: new Date(),
        }));
      },
    );
    provide(
      bind,
      TOKENS.WorkerRuntime,
      { host: ModelHost, worker: EmbeddingWorker, presence: WorkerPresence },
      ({ host, worker, presence }) => new WorkerRuntime(host, worker, presence),
    );
  });
}

/**
 * Loads the models in the background, then consumes their queues and reports
 * in. On stop it leaves the registry, stops consuming, lets the tasks it holds
 * settle, and frees the models; past the grace period it stops waiting, and
 * unacknowledged tasks return to the queue when the queue closes.
 */
class WorkerRuntime implements Component {
  readonly name = 'worker';
  private stopping = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: ModelHost,
    private readonly worker: EmbeddingWorker,
    private readonly presence: WorkerPresence,
  ) {}

  /** Resolves once the models have loaded (or failed to) and the worker consumes; rejects if it could not start. */
  get settled(): Promise<void> {
    return this.running;
  }

  async start(): Promise<void> {
    this.running = this.host.load().then(async () => {
      if (this.stopping) return;
      await this.worker.start();
      const served = [...this.host.models.keys(), ...this.host.rerankers.keys()];
      if (served.length > 0) await this.presence.start(served);
    });
  }

  async stop(deadline: AbortSignal): Promise<void> {
    this.stopping = true;
    await untilAborted(this.running, deadline);
    await this.presence.stop();
    await untilAborted(this.worker.stop(), deadline);
    await untilAborted(this.host.close(), deadline);
  }
}
