import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { MemoryBroker, MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { MemoryTaskEvents } from '../../src/adapters/memory/memory-task-events.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { EmbeddingWorker } from '../../src/application/worker/embedding-worker.js';
import { newTask, toMessage, type RerankQuery } from '../../src/domain/index.js';
import type { RerankerModel } from '../../src/ports/reranker-model.js';
import { LogSink } from './log-sink.js';
import { StubModel } from './stub-model.js';
import { waitFor } from './wait.js';

/** A worker on fresh in-memory adapters: each test has its own broker, store, model and logs. */
export function stubWorker(rerankers: ReadonlyMap<string, RerankerModel> = new Map()) {
  const broker = new MemoryBroker();
  const queue = new MemoryTaskQueue(broker);
  const store = new MemoryTaskStore({ ttlSeconds: 60, maxTasks: 100 });
  const model = new StubModel();
  const metrics = new MemoryMetrics();
  const logs = new LogSink();
  const events = new MemoryTaskEvents();
  const worker = new EmbeddingWorker(
    { models: new Map([['stub', model]]), rerankers },
    queue,
    store,
    events,
    systemClock,
    metrics,
    createPinoLogger({ level: 'debug', destination: logs }),
    {
      prefetch: 4,
      bulkPrefetch: 2,
      maxAttempts: 3,
      limits: { maxInputs: 4, maxInputChars: 20 },
      batching: { maxBatchSize: 8, maxBulkBatchSize: 4, maxBatchTokens: 64, lingerMs: 1, mergeTasks: true },
    },
  );
  let n = 0;
  const submit = async (inputs: string[], { model = 'stub', rerank }: { model?: string; rerank?: RerankQuery } = {}) => {
    const task = newTask({ id: `t${n++}`, model, inputs, priority: 0, now: new Date(), ...(rerank && { rerank }) });
    await store.create(task);
    await queue.publish(toMessage(task));
    return task.id;
  };
  const settled = async (id: string) => {
    await waitFor(async () => ['succeeded', 'failed', 'expired'].includes((await store.get(id))?.status ?? ''));
    return (await store.get(id))!;
  };
  return { broker, queue, store, model, metrics, logs, worker, submit, settled, events };
}

