import { joinWindows, rerankRow, requireEmbeddable, ValidationError, type TaskMessage } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { RerankerModel } from '../../ports/reranker-model.js';
import type { Delivery, Subscription, TaskConsumer } from '../../ports/task-consumer.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { Tracing } from '../../ports/tracing.js';
import type { ModelActivity } from '../../ports/worker-registry.js';
import { DynamicBatcher, type BatchInference, type BatchingOptions, type BatchReport, type JobOrigin } from './dynamic-batcher.js';
import { ModelActivityRecorder } from './model-activity.js';
import { TaskHandler, type RunTask, type TaskHandlerOptions } from './task-handler.js';
import { CallHandler } from './call-handler.js';

export interface WorkerOptions extends TaskHandlerOptions {
  /** Most tasks a worker holds unacknowledged per model; at least the batch size, so batches can fill. */
  readonly prefetch: number;
  /**
   * Most bulk tasks (each several of a batch's lines) it holds per model:
   * enough to keep the model busy between interactive requests, few enough
   * that a queue of them never stands in front of one.
   */
  readonly bulkPrefetch: number;
  readonly batching: BatchingOptions;
}

/** The models a worker serves, by id: live views that fill as they load. */
export interface ServedModels {
  readonly models: ReadonlyMap<string, EmbeddingModel>;
  readonly rerankers: ReadonlyMap<string, RerankerModel>;
}

/**
 * Serves the queues of the models it is given, embedding models and
 * rerankers, interactive and bulk lanes, each model through one batcher,
 * and hands every delivery to the `TaskHandler`, or a call to the `CallHandler`. It keeps what each model's work looks like for the
 * heartbeat, and on stop waits for the tasks in progress to be settled.
 */
export class EmbeddingWorker {
  private readonly subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly activity = new Map<string, ModelActivityRecorder>();
  private readonly handler: TaskHandler;
  private readonly calls: CallHandler;
  private readonly stopping = new AbortController();

  constructor(
    private readonly served: ServedModels,
    private readonly queue: TaskConsumer,
    store: TaskStore,
    events: TaskEvents,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: WorkerOptions,
    private readonly tracing?: Tracing,
  ) {
    const activityOf = (model: string) => this.activity.get(model);
    this.handler = new TaskHandler(store, events, clock, metrics, logger, options, activityOf, this.stopping.signal);
    this.calls = new CallHandler(clock, metrics, logger, options, activityOf);
  }

  async start(): Promise<void> {
    for (const [modelId, model] of this.served.models) {
      const batcher = this.batcherFor(modelId, (batch) => model.embedTokenized(batch));
      // Checked and tokenized on arrival, so that the model never sees an empty input and the batcher sizes batches by tokens.
      // The model pools; each task's vectors are then scaled to unit length, unless it asked for them as pooled.
      await this.consume(modelId, async (message) => {
        if (message.rerank) throw new ValidationError(`Model '${modelId}' makes embeddings; it cannot rerank.`);
        requireEmbeddable(message.inputs);
        const [tokenized, tokenizationMs] = await this.timed(modelId, message.inputs.length, () => model.tokenize(message.inputs, message.truncation));
        // A long text embedded whole is its windows, each batched as a text of its own, then joined again.
        const { vectors } = await batcher.run(tokenized.flatMap((text) => text.windows ?? [text]), this.originOf(message));
        const normalize = model.info.normalize && message.normalize !== false;
        const windows = message.truncation?.windows;
        const joined = joinWindows(message.inputs, tokenized, vectors, { normalize, chunks: windows?.chunks ?? false, ...(windows?.promptLength && { promptLength: windows.promptLength }) });
        return { ...joined, tokenizationMs };
      });
    }
    for (const [modelId, reranker] of this.served.rerankers) {
      const batcher = this.batcherFor(modelId, (batch) => reranker.scoreTokenized(batch));
      // Each document is paired with the task's query on arrival; pairs of many tasks then batch as texts do.
      await this.consume(modelId, async (message) => {
        const [pairs, tokenizationMs] = await this.timed(modelId, message.inputs.length, () =>
          reranker.tokenizePairs(rerankQuery(modelId, message), documents(message), message.rerank ?? {}),
        );
        const { vectors, tokenCounts } = await batcher.run(pairs, this.originOf(message));
        return { vectors: vectors.map((logits) => rerankRow(logits, reranker.info.scoreLabel)), tokenCounts, tokenizationMs };
      });
    }
  }

  private originOf(message: TaskMessage): JobOrigin {
    return { lane: message.lane, priority: message.priority, span: this.tracing?.current() };
  }

  /** What a task's tokenizing gives, and how many milliseconds it took (reported apart from its inference), in a span of its own. */
  private async timed<T>(model: string, texts: number, work: () => Promise<T>): Promise<[T, number]> {
    const started = this.clock.now().getTime();
    const attributes = { 'gen_ai.request.model': model, 'embedding_service.texts': texts };
    const value = await (this.tracing ? this.tracing.inSpan('tokenize', { attributes }, work) : work());
    return [value, this.clock.now().getTime() - started];
  }

  /** One batcher per model: it runs one inference at a time, and the runtime uses every core for it. */
  private batcherFor(modelId: string, infer: BatchInference): DynamicBatcher {
    const recorder = new ModelActivityRecorder();
    this.activity.set(modelId, recorder);
    const report = (batch: BatchReport) => {
      this.metrics.inference(modelId, batch.texts, batch.tokens, batch.seconds);
      recorder.inferred(batch.texts, batch.seconds);
    };
    return new DynamicBatcher(this.traced(modelId, infer), this.options.batching, report);
  }

  /** Each inference in a span of its own, linked to the span of every request it serves (see `Tracing.inBatch`). */
  private traced(modelId: string, infer: BatchInference): BatchInference {
    const tracing = this.tracing;
    if (!tracing) return infer;
    return (batch, requests) => {
      const attributes = {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.request.model': modelId,
        'embedding_service.batch.texts': batch.length,
        'embedding_service.batch.requests': requests.length,
        'embedding_service.batch.tokens': batch.reduce((n, t) => n + t.ids.length, 0),
        'embedding_service.batch.padded_tokens': batch.length * Math.max(...batch.map((t) => t.ids.length)),
      };
      return tracing.inBatch('inference', requests, attributes, () => infer(batch, requests));
    };
  }

  private async consume(modelId: string, run: RunTask): Promise<void> {
    const recorder = this.activity.get(modelId)!;
    const handle = (delivery: Delivery) => (delivery.call ? this.calls.handle(run, delivery, delivery.call) : this.handler.handle(run, delivery));
    const handler = (delivery: Delivery) => this.track(this.measured(recorder, handle(delivery)));
    this.subscriptions.push(await this.queue.consume(modelId, handler, { prefetch: this.options.prefetch }));
    this.subscriptions.push(await this.queue.consume(modelId, handler, { prefetch: this.options.bulkPrefetch, lane: 'bulk' }));
    this.logger.info('consuming', { model: modelId });
  }

  /** Stops taking tasks and waits for those in progress to be settled (those waiting for the store are requeued). */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.cancel()));
    this.stopping.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Per model it serves: tasks a second it gets through while it has work,
   * and what it has done. Read once per heartbeat (reading closes the pace's
   * current measurement).
   */
  report(): { throughput: Record<string, number>; activity: Record<string, ModelActivity> } {
    const now = this.clock.now().getTime();
    const throughput: Record<string, number> = {};
    const activity: Record<string, ModelActivity> = {};
    for (const [model, recorder] of this.activity) {
      const report = recorder.report(now);
      activity[model] = report.activity;
      if (report.tasksPerSecond !== undefined) throughput[model] = report.tasksPerSecond;
    }
    return { throughput, activity };
  }

  private measured(recorder: ModelActivityRecorder, work: Promise<void>): Promise<void> {
    recorder.taken(this.clock.now().getTime());
    return work.finally(() => recorder.settled(this.clock.now().getTime()));
  }

  private track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }
}

/** A rerank message's query: a message for a reranker without one is not its work. */
function rerankQuery(modelId: string, message: TaskMessage): string {
  if (!message.rerank) throw new ValidationError(`Model '${modelId}' is a reranker; a task for it needs a query.`);
  return message.rerank.query;
}

/** A rerank message's documents, which are texts (token ids are an embedding model's input). */
function documents(message: TaskMessage): string[] {
  return message.inputs.map((input, i) => {
    if (typeof input !== 'string') throw new ValidationError(`documents[${i}] is not a text.`);
    return input;
  });
}
