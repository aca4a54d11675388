import { isTerminal, TaskNotFoundError, visibleTo, type Principal, type Task } from '../../domain/index.js';
import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';

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
  async execute(taskId: string, query: TaskStatusQuery = {}): Promise<Task> {
    if ((query.waitMs ?? 0) <= 0) return this.read(taskId, query.caller);
    const watch = this.events.watch(taskId);
    try {
      return await this.follow(taskId, watch, query);
    } finally {
      watch.cancel();
    }
  }

  private async follow(taskId: string, watch: TaskWatch, { waitMs = 0, signal, caller }: TaskStatusQuery): Promise<Task> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      // Watch (and let the watch take hold) before reading, so an announcement between the read and the wait is not missed.
      // A watch that cannot take hold in time (its channel stalled) leaves a plain read.
      await Promise.race([watch.ready, waited]);
      const task = await this.read(taskId, caller);
      if (isTerminal(task)) return task;
      await Promise.race([watch.finished, waited]);
      return await this.read(taskId, caller);
    } finally {
      clearTimeout(timer);
    }
  }

  private async read(taskId: string, caller: Principal | undefined): Promise<Task> {
    return visibleTo(caller, await this.store.get(taskId), () => new TaskNotFoundError(taskId));
  }
}
