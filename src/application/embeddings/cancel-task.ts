import { InvalidTransitionError, isTerminal, TaskNotFoundError, visibleTo, type Principal, type Task } from '../../domain/index.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';

/**
 * Calls off a queued or running task for its owner. The message stays on
 * the queue: the worker that takes it finds the task final and skips it, and
 * a worker already running it has its result dropped, because a final task
 * never changes again. Cancelling a cancelled task is a no-op that answers
 * the same; a task that finished otherwise cannot be cancelled.
 */
export class CancelTask {
  constructor(
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async execute(taskId: string, caller?: Principal): Promise<Task> {
    const found = visibleTo(caller, await this.store.get(taskId), () => new TaskNotFoundError(taskId));
    if (isTerminal(found)) return settled(found);

    const now = this.clock.now();
    const task = await this.store.markCancelled(taskId, `Cancelled by ${caller?.name ?? 'a client'}.`, now);
    if (!task) throw new TaskNotFoundError(taskId);
    // It may have finished between the read and the write; the stored outcome stands.
    if (task.status !== 'cancelled' || task.finishedAt?.getTime() !== now.getTime()) return settled(task);

    this.metrics.taskCompleted(task.model, 'cancelled', Math.max(0, (now.getTime() - task.createdAt.getTime()) / 1000));
    this.logger.info('task cancelled', { taskId, model: task.model, ...(caller && { key: caller.name }) });
    // Long polls of the task end now rather than at their timeout.
    this.events.announceFinished(taskId).catch((error: unknown) => this.logger.warn('could not announce a cancelled task', { taskId, err: error }));
    return task;
  }
}

/** A task already final: cancelled is what was asked (idempotent); any other end is a conflict. */
function settled(task: Task): Task {
  if (task.status === 'cancelled') return task;
  throw new InvalidTransitionError(`Task ${task.id} has already ${task.status}; it can no longer be cancelled.`);
}
