/*
 * Where a lone request's time goes inside the service, stage by stage: the
 * use cases and adapters on its path are wrapped (their prototypes, in this
 * process only) to note when each call begins and ends, relative to the
 * moment the client sends the request. Medians over many requests; the
 * differences between rows are what each stage and each hand-off costs.
 */
import { Pool } from 'undici';
import { MemoryTaskQueue } from '../src/adapters/memory/memory-task-queue.js';
import { OnnxEmbeddingModel } from '../src/adapters/onnx/onnx-embedding-model.js';
import { RabbitMqTaskQueue } from '../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import { CreateEmbeddings } from '../src/application/embeddings/create-embeddings.js';
import { RequestCheck } from '../src/application/embeddings/request-check.js';
import { VectorCache } from '../src/application/embeddings/vector-cache.js';
import { SubmitTask } from '../src/application/tasks/submit-task.js';
import { SyncTasks } from '../src/application/tasks/sync-tasks.js';
import { CallHandler } from '../src/application/worker/call-handler.js';
import { DynamicBatcher } from '../src/application/worker/dynamic-batcher.js';
import { median } from './fixtures.js';

export interface Stage {
  readonly name: string;
  /** Median ms from the request's start. */
  readonly at: number;
}

let started = 0;
let marks: Record<string, number> = {};

const STAGES: [prototype: object, method: string, label: string][] = [
  [CreateEmbeddings.prototype, 'execute', 'use case'],
  [RequestCheck.prototype, 'execute', 'request check'],
  [VectorCache.prototype, 'lookup', 'cache lookup'],
  [SyncTasks.prototype, 'run', 'sync call'],
  [SubmitTask.prototype, 'admit', 'admission'],
  [MemoryTaskQueue.prototype, 'call', 'queue call'],
  [RabbitMqTaskQueue.prototype, 'call', 'queue call'],
  [CallHandler.prototype, 'handle', 'worker handles'],
  [OnnxEmbeddingModel.prototype, 'tokenize', 'tokenize'],
  [DynamicBatcher.prototype, 'run', 'batcher'],
  [OnnxEmbeddingModel.prototype, 'embedTokenized', 'inference thread'],
];

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  for (const [prototype, method, label] of STAGES) {
    const target = prototype as Record<string, (...args: unknown[]) => unknown>;
    const original = target[method]!;
    target[method] = function (this: unknown, ...args: unknown[]) {
      marks[`${label} begins`] ??= performance.now() - started;
      const result = original.apply(this, args);
      const ended = () => (marks[`${label} ends`] ??= performance.now() - started);
      if (result instanceof Promise) return result.finally(ended);
      ended();
      return result;
    };
  }
}

/** `runs` requests, one at a time, over HTTP with keep-alive; the median moment of each stage. */
export async function traceStages(base: string, body: () => string, runs: number): Promise<Stage[]> {
  install();
  const pool = new Pool(base, { connections: 1 });
  const traces: Record<string, number>[] = [];
  try {
    for (let i = 0; i < runs + 50; i++) {
      const payload = body();
      marks = {};
      started = performance.now();
      const response = await pool.request({ path: '/v1/embeddings', method: 'POST', body: payload, headers: { 'content-type': 'application/json' } });
      marks['response headers'] = performance.now() - started;
      await response.body.text();
      marks['response body'] = performance.now() - started;
      if (i >= 50) traces.push(marks);
    }
  } finally {
    await pool.close();
  }
  const names = Object.keys(traces.at(-1) ?? {});
  return names
    .map((name) => ({ name, at: median(traces.map((trace) => trace[name] ?? Number.NaN).filter(Number.isFinite)) }))
    .sort((a, b) => a.at - b.at);
}
