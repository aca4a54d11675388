import { isTerminal, TaskNotFoundError, type Task } from '../domain/index.js';
import type { TaskEvents } from '../ports/task-events.js';
import type { TaskStore } from '../ports/task-store.js';

export class GetTaskStatus {
  constructor(
    private readonly store: TaskStore,
    private readonly events: TaskEvents,
  ) {}

  /**
   * The task as stored. With `waitMs`, an unfinished task is held until it
   * finishes or the time is up, whichever comes first (a long poll), and then
   * returned as it is. An aborted `signal` ends the wait early.
   */
  async execute(taskId: string, waitMs = 0, signal?: AbortSignal): Promise<Task> {
    if (waitMs <= 0) return this.read(taskId);
    // Watch (and let the watch take hold) before reading, so an announcement between the read and the wait is not missed.
    const watch = this.events.watch(taskId);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The wait ends when the time is up or the caller stops waiting (its client went away).
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      if (signal?.aborted) resolve();
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
    try {
      // A watch that cannot take hold in time (its channel stalled) leaves a plain read.
      await Promise.race([watch.ready, waited]);
      const task = await this.read(taskId);
      if (isTerminal(task)) return task;
      await Promise.race([watch.finished, waited]);
      return await this.read(taskId);
    } finally {
      clearTimeout(timer);
      watch.cancel();
    }
  }

  private async read(taskId: string): Promise<Task> {
    const task = await this.store.get(taskId);
    if (!task) throw new TaskNotFoundError(taskId);
    return task;
  }
}
