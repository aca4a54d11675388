import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';
import { TaskWatchers } from '../shared/task-watchers.js';

/** Announcements within this process. */
export class MemoryTaskEvents implements TaskEvents {
  private readonly watchers = new TaskWatchers();

  async announceFinished(taskId: string): Promise<void> {
    this.watchers.wake(taskId);
  }

  watch(taskId: string): TaskWatch {
    return this.watchers.watch(taskId, Promise.resolve());
  }

  /** Tasks with at least one watcher (for tests: watches must not leak). */
  get watched(): number {
    return this.watchers.size;
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
