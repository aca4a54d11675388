import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { MemoryModelCatalog } from '../../src/adapters/memory/memory-model-catalog.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { LiveWorkers } from '../../src/application/models/live-workers.js';
import { SubmitEmbedding } from '../../src/application/embeddings/submit-embedding.js';
import { CapacityExceededError, newTask, ServiceUnavailableError } from '../../src/domain/index.js';
import type { QueueInspector } from '../../src/ports/queue-inspector.js';
import type { TaskPublisher } from '../../src/ports/task-publisher.js';
import { LogSink } from '../support/log-sink.js';

/** A queue that refuses every publish, as a full or unreachable broker does. */
function refusingQueue(error: Error): TaskPublisher & Pick<QueueInspector, 'depth'> {
  return { publish: async () => Promise.reject(error), depth: async () => 0 };
}

describe('SubmitEmbedding', () => {
  it.each([
    ['full', new CapacityExceededError('the queue is full')],
    ['unreachable', new ServiceUnavailableError('the broker is away')],
  ])('leaves nothing in the store when the queue is %s, and passes the refusal on', async (_kind, refusal) => {
    const store = new MemoryTaskStore({ ttlSeconds: 60, maxTasks: 10 });
    let id = 0;
    const submit = new SubmitEmbedding(
      new MemoryModelCatalog([{ id: 'm', engine: 'onnx' }], 'm'),
      store,
      refusingQueue(refusal),
      { maxInputs: 10, maxInputChars: 100 },
      { next: () => `task-${id++}` },
      systemClock,
      new MemoryMetrics(),
      createPinoLogger({ level: 'silent', destination: new LogSink() }),
      new LiveWorkers(new MemoryWorkerRegistry()),
      { maxQueueWaitMs: 60_000 },
    );
    await expect(submit.execute({ inputs: ['x'.repeat(100)] })).rejects.toBe(refusal);
    expect(await store.get('task-0')).toBeUndefined();
    // Refusals use up none of the store's room (it holds 10 tasks): had they left records, the last create would be refused.
    for (let i = 0; i < 20; i++) await expect(submit.execute({ inputs: ['again'] })).rejects.toBe(refusal);
    await expect(store.create(newTask({ id: 'later', model: 'm', inputs: ['x'], priority: 0, now: new Date() }))).resolves.toBeUndefined();
  });
});
