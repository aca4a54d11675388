import {
  checkInputs,
  DEFAULT_PRIORITY,
  ModelNotFoundError,
  newTask,
  toMessage,
  type EmbeddingRequest,
  type InputLimits,
  type Task,
} from '../domain/index.js';
import type { Clock } from '../ports/clock.js';
import type { IdGenerator } from '../ports/id-generator.js';
import type { Logger } from '../ports/logger.js';
import type { Metrics } from '../ports/metrics.js';
import type { ModelCatalog } from '../ports/model-catalog.js';
import type { TaskQueue } from '../ports/task-queue.js';
import type { TaskStore } from '../ports/task-store.js';
import type { LiveWorkers } from './live-workers.js';

export interface Submission {
  readonly task: Task;
  /** Workers serving the model when the task was queued (0: it waits for one); undefined if unknown. */
  readonly liveWorkers: number | undefined;
}

/**
 * Accepts a request for embeddings: checks it, records a queued task, then
 * puts it on its model's queue. When it resolves, the task is durable in both.
 */
export class SubmitEmbedding {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly store: TaskStore,
    private readonly queue: TaskQueue,
    private readonly limits: InputLimits,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly live: LiveWorkers,
  ) {}

  async execute(command: EmbeddingRequest): Promise<Submission> {
    checkInputs(command.inputs, this.limits);
    const modelId = command.model ?? this.catalog.defaultModelId;
    if (!(await this.catalog.find(modelId))) throw new ModelNotFoundError(modelId);

    const task = newTask({
      id: this.ids.next(),
      model: modelId,
      inputs: command.inputs,
      priority: command.priority ?? DEFAULT_PRIORITY,
      now: this.clock.now(),
      ...(command.requestId !== undefined && { requestId: command.requestId }),
      ...(command.deadline !== undefined && { deadline: command.deadline }),
    });
    // Record first, then publish: a worker may finish the task before publish
    // returns, and it must find the record to update.
    await this.store.create(task);
    try {
      await this.queue.publish(toMessage(task));
    } catch (error) {
      // The client gets an error without the id, so nobody will ask for this
      // task: leave nothing behind (a refused 9 MB request must not hold 9 MB).
      await this.store
        .remove(task.id)
        .catch((storeError: unknown) => this.logger.warn('could not remove a task that was not queued', { taskId: task.id, err: storeError }));
      throw error;
    }
    this.metrics.taskSubmitted(modelId);
    return { task, liveWorkers: await this.live.count(modelId) };
  }
}
