import type { TaskWatch } from '../../ports/task-events.js';

/**
 * The watches this process holds, by task: what a `TaskEvents` adapter hands
 * out and wakes when it hears that a task finished, however the announcement
 * travelled. A task's watches are woken once and then forgotten.
 */
export class TaskWatchers {
  private readonly watchers = new Map<string, Set<() => void>>();

  /** A watch on `taskId` that counts as ready when `ready` resolves. */
  watch(taskId: string, ready: Promise<void>): TaskWatch {
    let wake!: () => void;
    const finished = new Promise<void>((resolve) => (wake = resolve));
    const set = this.watchers.get(taskId) ?? new Set();
    set.add(wake);
    this.watchers.set(taskId, set);
    return {
      ready,
      finished,
      cancel: () => {
        set.delete(wake);
        if (set.size === 0 && this.watchers.get(taskId) === set) this.watchers.delete(taskId);
      },
    };
  }

  wake(taskId: string): void {
    const set = this.watchers.get(taskId);
    if (!set) return;
    this.watchers.delete(taskId);
    for (const wake of set) wake();
  }

  /** Tasks with at least one watch (watches must not leak). */
  get size(): number {
    return this.watchers.size;
  }

  clear(): void {
    this.watchers.clear();
  }
}
