import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ContainerModule } from 'inversify';
import { OpenAiBatchLines } from '../../adapters/http/batch-lines.js';
import { StandardWebhookBatchEvents, UnsentBatchEvents } from '../../adapters/webhooks/standard-webhooks.js';
import { BatchChunks } from '../../application/batches/batch-chunks.js';
import { BatchJobs } from '../../application/batches/batch-jobs.js';
import { BatchRunner } from '../../application/batches/batch-runner.js';
import { BatchLineCheck } from '../../application/batches/line-check.js';
import { RequestCheck } from '../../application/embeddings/request-check.js';
import { FileLibrary } from '../../application/files/file-library.js';
import { RerankCheck } from '../../application/rerank/rerank-check.js';
import type { AppConfig } from '../config/schema.js';
import { TOKENS } from '../identifiers.js';
import type { Component } from '../lifecycle.js';
import { provide } from '../tokens.js';

/** Retries of a webhook delivery: within about an hour, later each time (Standard Webhooks' own schedule is similar). */
const WEBHOOK_RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000];

/**
 * OpenAI's Files and Batch APIs (modes api and all): the use cases the routes call, and the
 * runner that every API process runs, each taking the batches whose leases
 * are free, so that a batch goes on when the process that ran it dies.
 */
export function batchesModule(config: AppConfig): ContainerModule {
  const { batches, files } = config.service;
  return new ContainerModule(({ bind }) => {
    provide(bind, FileLibrary, { store: TOKENS.FileStore, ids: TOKENS.Ids, clock: TOKENS.Clock, metrics: TOKENS.Metrics }, (d) => {
      return new FileLibrary(d.store, d.ids, d.clock, d.metrics, { maxBytes: files.max_bytes, maxLines: files.max_lines, defaultTtlSeconds: files.ttl_seconds });
    });
    provide(bind, TOKENS.BatchLines, {}, () => new OpenAiBatchLines());
    provide(bind, TOKENS.BatchEvents, { logger: TOKENS.Logger }, ({ logger }) => {
      const log = logger.child({ component: 'webhooks' });
      return batches.webhook_secret
        ? new StandardWebhookBatchEvents({
            secret: batches.webhook_secret,
            ...(batches.webhook_url && { url: batches.webhook_url }),
            retryDelaysMs: WEBHOOK_RETRY_DELAYS_MS,
            timeoutMs: 10_000,
            allowPrivateTargets: batches.webhook_allow_private_targets,
            logger: log,
          })
        : new UnsentBatchEvents(log, batches.webhook_allow_private_targets);
    });
    provide(
      bind,
      BatchLineCheck,
      { lines: TOKENS.BatchLines, embeddings: RequestCheck, rerank: RerankCheck },
      ({ lines, embeddings, rerank }) => new BatchLineCheck(lines, embeddings, rerank),
    );
    provide(
      bind,
      BatchChunks,
      { lines: TOKENS.BatchLines, check: BatchLineCheck, tasks: TOKENS.TaskStore, queue: TOKENS.TaskQueue, ids: TOKENS.Ids, clock: TOKENS.Clock },
      (d) => new BatchChunks(d.lines, d.check, d.tasks, d.queue, d.ids, d.clock, { chunkInputs: batches.chunk_inputs }),
    );
    provide(
      bind,
      BatchRunner,
      {
        batches: TOKENS.BatchStore,
        files: TOKENS.FileStore,
        chunks: BatchChunks,
        tasks: TOKENS.TaskStore,
        events: TOKENS.TaskEvents,
        notifier: TOKENS.BatchEvents,
        clock: TOKENS.Clock,
        metrics: TOKENS.Metrics,
        logger: TOKENS.Logger,
        tracing: TOKENS.Tracing,
      },
      (d) =>
        new BatchRunner(d.batches, d.files, d.chunks, d.tasks, d.events, d.notifier, d.clock, d.metrics, d.logger.child({ component: 'batches' }), {
          holder: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
          inFlightChunks: batches.in_flight_chunks,
          leaseMs: 10_000,
          scanMs: 2_000,
          pollMs: 500,
          maxBatches: 4,
          windDownMs: 60_000,
          outputTtlMs: files.ttl_seconds * 1000,
          ...(d.tracing && { tracing: d.tracing.tracing }),
        }),
    );
    provide(
      bind,
      BatchJobs,
      { batches: TOKENS.BatchStore, files: TOKENS.FileStore, ids: TOKENS.Ids, clock: TOKENS.Clock, webhooks: TOKENS.BatchEvents, runner: BatchRunner, tracing: TOKENS.Tracing },
      (d) => new BatchJobs(d.batches, d.files, d.ids, d.clock, d.webhooks, () => d.runner.wake(), d.tracing?.tracing),
    );
    provide(bind, TOKENS.BatchRunning, { runner: BatchRunner, events: TOKENS.BatchEvents }, ({ runner, events }): Component => ({
      name: 'batch runner',
      start: async () => runner.start(),
      stop: async () => {
        await runner.stop();
        await events.close();
      },
    }));
  });
}
