import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';

/** Announcements within this process. */
export class MemoryTaskEvents implements TaskEvents {
  private readonly watchers = new Map<string, Set<() => void>>();

  async announceFinished(taskId: string): Promise<void> {
    const set = this.watchers.get(taskId);
    if (!set) return;
    this.watchers.delete(taskId);
    for (const wake of set) wake();
  }

  watch(taskId: string): TaskWatch {
    let wake!: () => void;
    const finished = new Promise<void>((resolve) => (wake = resolve));
    const set = this.watchers.get(taskId) ?? new Set();
    set.add(wake);
    this.watchers.set(taskId, set);
    return {
      ready: Promise.resolve(),
      finished,
      cancel: () => {
        set.delete(wake);
        if (set.size === 0 && this.watchers.get(taskId) === set) this.watchers.delete(taskId);
      },
    };
  }

  /** Tasks with at least one watcher (for tests: watches must not leak). */
  get watched(): number {
    return this.watchers.size;
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
