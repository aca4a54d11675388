import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FilesystemFileStore } from '../../src/adapters/filesystem/filesystem-file-store.js';
import { OpenAiBatchLines } from '../../src/adapters/http/batch-lines.js';
import { MemoryBatchStore } from '../../src/adapters/memory/memory-batch-store.js';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { MemoryModelCatalog } from '../../src/adapters/memory/memory-model-catalog.js';
import { MemoryTaskEvents } from '../../src/adapters/memory/memory-task-events.js';
import { MemoryBroker, MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { uuidGenerator } from '../../src/adapters/system/system-clock.js';
import { RequestCheck } from '../../src/application/embeddings/request-check.js';
import { BatchChunks } from '../../src/application/batches/batch-chunks.js';
import { BatchLineCheck } from '../../src/application/batches/line-check.js';
import { RerankCheck } from '../../src/application/rerank/rerank-check.js';
import { BatchRunner, type BatchRunnerOptions } from '../../src/application/batches/batch-runner.js';
import { EmbeddingWorker } from '../../src/application/worker/embedding-worker.js';
import { newBatch, type Batch } from '../../src/domain/index.js';
import type { BatchEvents, BatchEventType } from '../../src/ports/batch-events.js';
import { LogSink } from '../support/log-sink.js';
import { gatedModel } from '../support/stub-model.js';
import { waitFor } from '../support/wait.js';

/*
 * The runner on the in-memory adapters and a stub model whose inferences a
 * test holds and lets go: a batch past its window, and a batch whose runner
 * stops part-way and another one takes it over.
 */

const LINES = 60;

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'batch-runner-'));
  let now = Date.now();
  const clock = { now: () => new Date(now) };
  const { model, release, hold } = gatedModel();
  const queue = new MemoryTaskQueue(new MemoryBroker());
  const tasks = new MemoryTaskStore({ ttlSeconds: 3600, maxTasks: 100_000 });
  const events = new MemoryTaskEvents();
  const files = new FilesystemFileStore(join(dir, 'files'));
  // On the test's clock, as the runner: kept for a week, since a test moves past a batch's 24-hour window.
  const batches = new MemoryBatchStore(7 * 24 * 3_600_000, () => now);
  const metrics = new MemoryMetrics();
  const logger = createPinoLogger({ level: 'debug', destination: new LogSink() });
  const limits = { maxInputs: 16, maxInputChars: 1000 };
  const catalog = new MemoryModelCatalog([{ id: 'stub', kind: 'embedding', engine: 'onnx' }], 'stub');
  const worker = new EmbeddingWorker({ models: new Map([['stub', model]]), rerankers: new Map() }, queue, tasks, events, clock, metrics, logger, {
    prefetch: 8,
    bulkPrefetch: 2,
    maxAttempts: 3,
    limits,
    batching: { maxBatchSize: 4, maxBulkBatchSize: 4, maxBatchTokens: 1000, lingerMs: 0, mergeTasks: true },
  });
  await worker.start();
  const notified: { type: BatchEventType; batch: Batch }[] = [];
  const notifier: BatchEvents = { notify: (type, batch) => void notified.push({ type, batch }), refusal: () => undefined, close: async () => undefined };
  const runners: BatchRunner[] = [];
  const runner = (holder: string, options: Partial<BatchRunnerOptions> = {}) => {
    const lines = new OpenAiBatchLines();
    const check = new BatchLineCheck(lines, new RequestCheck(catalog, limits, 8192), new RerankCheck(catalog, { maxDocuments: 16, maxChars: 1000 }, undefined));
    const chunks = new BatchChunks(lines, check, tasks, queue, uuidGenerator, clock, { chunkInputs: 4 });
    const r = new BatchRunner(batches, files, chunks, tasks, events, notifier, clock, metrics, logger, {
      holder,
      inFlightChunks: 2,
      leaseMs: 200,
      scanMs: 20,
      pollMs: 20,
      maxBatches: 2,
      windDownMs: 5_000,
      outputTtlMs: 3_600_000,
      ...options,
    });
    runners.push(r);
    return r;
  };
  const content = Array.from({ length: LINES }, (_, i) => JSON.stringify({ custom_id: `l${i}`, method: 'POST', url: '/v1/embeddings', body: { input: `line ${i}` } })).join('\n') + '\n';
  const input = await files.save(`file-${'a'.repeat(32)}`, (async function* () { yield Buffer.from(content); })(), async () => ({
    filename: 'in.jsonl',
    purpose: 'batch',
    createdAt: new Date(now),
    expiresAt: new Date(now + 3_600_000),
  }));
  const batch = newBatch({ endpoint: '/v1/embeddings', id: `batch_${'b'.repeat(32)}`, inputFileId: input.id, now: new Date(now) });
  await batches.create(batch);
  const text = async (id: string | undefined) => {
    if (!id) return [];
    const parts: Buffer[] = [];
    for await (const part of (await files.read(id))!) parts.push(Buffer.from(part));
    return Buffer.concat(parts).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { custom_id: string; error: { code: string } | null });
  };
  const until = async (check: (b: Batch) => boolean) => {
    for (let i = 0; i < 500; i++) {
      const b = (await batches.get(batch.id))!;
      if (check(b)) return b;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the batch did not get there');
  };
  return {
    model, release, hold, batches, tasks, metrics, notified, runner, until, text, batch,
    advance: (ms: number) => (now += ms),
    stop: async () => {
      release();
      await Promise.all(runners.map((r) => r.stop()));
      await worker.stop();
      await queue.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('BatchRunner', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  afterEach(async () => t?.stop());

  it('ends a batch past its window as expired: what finished in the output, every other line as batch_expired, each once', async () => {
    t = await setup();
    t.runner('p1').start();
    t.release();
    await t.until((b) => b.requestCounts.completed >= 8);
    t.hold();
    t.advance(25 * 3_600_000);
    t.release();
    const done = await t.until((b) => b.status === 'expired');
    const output = await t.text(done.outputFileId);
    const errors = await t.text(done.errorFileId);
    expect(output.length).toBeGreaterThanOrEqual(8);
    expect(output.length).toBeLessThan(LINES);
    expect(errors.every((e) => e.error?.code === 'batch_expired')).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(Array.from({ length: LINES }, (_, i) => `l${i}`).sort());
    expect(done.requestCounts).toEqual({ total: LINES, completed: output.length, failed: errors.length });
    expect(done.expiredAt).toBeDefined();
    expect(t.notified.map((n) => n.type)).toEqual(['batch.expired']);
    expect(t.metrics.counter('batches{status=expired}')).toBe(1);
  });

  it('is taken over by another runner when its runner stops part-way, resuming after what was planned rather than starting over', async () => {
    t = await setup();
    const first = t.runner('p1');
    first.start();
    t.release();
    await t.until((b) => b.requestCounts.completed >= 12);
    t.hold();
    await first.stop();
    const planned = (await t.batches.chunks(t.batch.id)).length;
    expect(planned).toBeGreaterThan(0);

    t.runner('p2').start();
    t.release();
    const done = await t.until((b) => b.status === 'completed');
    const output = await t.text(done.outputFileId);
    expect(output.map((l) => l.custom_id)).toEqual(Array.from({ length: LINES }, (_, i) => `l${i}`));
    expect(done.requestCounts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    // One task per chunk of 4 lines: the second runner planned no line the first one had.
    expect(await t.tasks.recent({ limit: 1000 })).toHaveLength(LINES / 4);
    // Lines run at most twice: only the chunks queued when the first runner stopped are queued again (a task queued twice may run twice).
    expect(t.model.batches.flat().filter((text) => text.startsWith('line ')).length).toBeLessThanOrEqual(LINES + 8);
    expect(t.notified.map((n) => n.type)).toEqual(['batch.completed']);
  });

  it('leaves a batch whose lease another holder has alone, and takes it once that lease runs out', async () => {
    t = await setup();
    expect(await t.batches.lease(t.batch.id, 'dead-process', 300)).toBe(true);
    // The runner's attempts, seen as they happen: two refusals mean it has looked twice and left the batch alone.
    const refusals: string[] = [];
    const lease = t.batches.lease.bind(t.batches);
    t.batches.lease = async (id, holder, ttlMs) => {
      const granted = await lease(id, holder, ttlMs);
      if (!granted) refusals.push(holder);
      return granted;
    };
    t.runner('p2').start();
    t.release();
    await waitFor(() => refusals.length >= 2, 5_000, 'the runner to try the lease twice');
    expect(refusals.every((holder) => holder === 'p2')).toBe(true);
    expect((await t.batches.get(t.batch.id))!.status).toBe('validating');
    t.advance(300);
    const done = await t.until((b) => b.status === 'completed');
    expect(done.requestCounts.completed).toBe(LINES);
  });
});
