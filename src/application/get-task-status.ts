import { isTerminal, maySee, TaskNotFoundError, type Principal, type Task } from '../domain/index.js';
import type { TaskEvents } from '../ports/task-events.js';
import type { TaskStore } from '../ports/task-store.js';

export interface TaskStatusQuery {
  /** Hold an unfinished task this long for it to finish (a long poll); 0 answers at once. */
  readonly waitMs?: number;
  /** Ends the wait early (its client went away). */
  readonly signal?: AbortSignal;
  /** Who asks: another key's task is answered as if it did not exist. Absent on an open service. */
  readonly caller?: Principal;
}

export class GetTaskStatus {
  constructor(
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
  ) {}

  /**
   * The task as stored. With `waitMs`, an unfinished task is held until it
   * finishes or the time is up, whichever comes first, and then returned as
   * it is. A caller that may not see the task gets `TaskNotFoundError`, the
   * same as for an id that does not exist, so ids cannot be probed.
   */
  async execute(taskId: string, { waitMs = 0, signal, caller }: TaskStatusQuery = {}): Promise<Task> {
    if (waitMs <= 0) return this.read(taskId, caller);
    // Watch (and let the watch take hold) before reading, so an announcement between the read and the wait is not missed.
    const watch = this.events.watch(taskId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      // A watch that cannot take hold in time (its channel stalled) leaves a plain read.
      await Promise.race([watch.ready, waited]);
      const task = await this.read(taskId, caller);
      if (isTerminal(task)) return task;
      await Promise.race([watch.finished, waited]);
      return await this.read(taskId, caller);
    } finally {
      clearTimeout(timer);
      watch.cancel();
    }
  }

  private async read(taskId: string, caller: Principal | undefined): Promise<Task> {
    const task = await this.store.get(taskId);
    if (!task || !maySee(caller, task.owner)) throw new TaskNotFoundError(taskId);
    return task;
  }
}
