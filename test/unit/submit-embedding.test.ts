import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../src/adapters/memory/memory-metrics.js';
import { MemoryModelCatalog } from '../../src/adapters/memory/memory-model-catalog.js';
import { MemoryTaskStore } from '../../src/adapters/memory/memory-task-store.js';
import { MemoryWorkerRegistry } from '../../src/adapters/memory/memory-worker-registry.js';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { LiveWorkers } from '../../src/application/models/live-workers.js';
import { EnforceRateLimits } from '../../src/application/access/enforce-rate-limits.js';
import { RequestCheck } from '../../src/application/embeddings/request-check.js';
import { SubmitEmbedding } from '../../src/application/embeddings/submit-embedding.js';
import { SubmitTask } from '../../src/application/tasks/submit-task.js';
import { MemoryRateLimiter } from '../../src/adapters/memory/memory-rate-limiter.js';
import { MemoryTaskQueue } from '../../src/adapters/memory/memory-task-queue.js';
import { CapacityExceededError, ModelNotFoundError, newTask, PayloadTooLargeError, RateLimitExceededError, ServiceUnavailableError } from '../../src/domain/index.js';
import type { QueueInspector } from '../../src/ports/queue-inspector.js';
import type { TaskPublisher } from '../../src/ports/task-publisher.js';
import { LogSink } from '../support/log-sink.js';

/** A queue that refuses every publish, as a full or unreachable broker does. */
function refusingQueue(error: Error): TaskPublisher & Pick<QueueInspector, 'depth'> {
  return { publish: async () => Promise.reject(error), depth: async () => 0 };
}

const LIMITS = { maxInputs: 10, maxInputChars: 100 };

function submitter(store: MemoryTaskStore, queue: TaskPublisher & Pick<QueueInspector, 'depth'>, next: () => string, tokensPerMinute?: number) {
  const catalog = new MemoryModelCatalog([{ id: 'm', kind: 'embedding', engine: 'onnx' }], 'm');
  return new SubmitEmbedding(
    new RequestCheck(catalog, LIMITS, 8192),
    new SubmitTask(
      new EnforceRateLimits(new MemoryRateLimiter(), { ...(tokensPerMinute !== undefined && { tokensPerMinute }) }),
      store,
      queue,
      { next },
      systemClock,
      new MemoryMetrics(),
      createPinoLogger({ level: 'silent', destination: new LogSink() }),
      new LiveWorkers(new MemoryWorkerRegistry()),
      { maxQueueWaitMs: 60_000 },
    ),
  );
}

describe('SubmitEmbedding', () => {
  it('takes a request’s estimated tokens from its caller’s allowance once it is found good, and refuses past it', async () => {
    const store = new MemoryTaskStore({ ttlSeconds: 60, maxTasks: 10 });
    let id = 0;
    const submit = submitter(store, new MemoryTaskQueue(), () => `task-${id++}`, 30);
    const caller = { name: 'key-a', admin: false };
    // 80 characters: an estimated 20 tokens.
    const { tokens } = await submit.execute({ inputs: ['x'.repeat(80)], caller });
    expect(tokens).toMatchObject({ limit: 30, remaining: 10 });
    // A bad request costs no tokens: it is refused before the allowance is touched.
    await expect(submit.execute({ inputs: ['x'.repeat(101)], caller })).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(submit.execute({ inputs: ['ok'], model: 'nope', caller })).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(submit.execute({ inputs: ['x'.repeat(80)], caller })).rejects.toBeInstanceOf(RateLimitExceededError);
    expect((await store.get('task-0'))?.owner).toBe('key-a');
  });

  it.each([
    ['full', new CapacityExceededError('the queue is full')],
    ['unreachable', new ServiceUnavailableError('the broker is away')],
  ])('keeps none of a task’s inputs when the queue is %s, ends it so that it never runs, and passes the refusal on', async (_kind, refusal) => {
    const store = new MemoryTaskStore({ ttlSeconds: 60, maxTasks: 10 });
    let id = 0;
    const submit = submitter(store, refusingQueue(refusal), () => `task-${id++}`);
    await expect(submit.execute({ inputs: ['x'.repeat(100)] })).rejects.toBe(refusal);
    // Refused, not forgotten: a message of it that reached the queue after all finds it ended.
    expect(await store.get('task-0')).toMatchObject({ status: 'cancelled', inputs: [], error: 'Refused at submit: the queue did not confirm it.' });
    // Refusals use up none of the store's room (it holds 10 tasks): had they left records, the last create would be refused.
    for (let i = 0; i < 20; i++) await expect(submit.execute({ inputs: ['again'] })).rejects.toBe(refusal);
    await expect(store.create(newTask({ id: 'later', model: 'm', inputs: ['x'], priority: 0, now: new Date() }))).resolves.toBeUndefined();
  });
});
