import {
  abandonTask,
  CapacityExceededError,
  failTask,
  isTerminal,
  ServiceUnavailableError,
  startTask,
  succeedTask,
  TaskAlreadyExistsError,
  type EmbeddingResult,
  type TaskFailure,
  type Task,
} from '../../domain/index.js';
import { RECENT_TASKS, type RecentTasksQuery, type TaskStore } from '../../ports/task-store.js';

export interface MemoryTaskStoreOptions {
  /** How long a task and its result are kept after creation. */
  readonly ttlSeconds: number;
  /** Most tasks held at once; `create` is refused beyond it once expired tasks are gone. */
  readonly maxTasks: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  readonly now?: () => number;
}

interface Record {
  task: Task;
  readonly expiresAt: number;
}

/**
 * Task store held in this process, with the Redis store's semantics: atomic
 * transitions (JavaScript runs one at a time), terminal tasks frozen, and
 * expiry a fixed time after creation. When full it refuses new tasks rather
 * than dropping results that clients may still fetch.
 */
export class MemoryTaskStore implements TaskStore {
  private readonly records = new Map<string, Record>();
  /** Tasks refused at submit, ended: kept apart, so that they take no room and are not listed; the oldest go first past `maxTasks`. */
  private readonly refused = new Map<string, Record>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: MemoryTaskStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async create(task: Task): Promise<void> {
    this.assertOpen();
    const existing = this.live(task.id);
    // The same task again (a retried create) is not an error; another task under its id is.
    if (existing) {
      if (existing.task.createdAt.getTime() === task.createdAt.getTime() && existing.task.model === task.model) return;
      throw new TaskAlreadyExistsError(task.id);
    }
    if (this.records.size >= this.options.maxTasks) this.purgeExpired();
    if (this.records.size >= this.options.maxTasks) {
      throw new CapacityExceededError(`The task store is full (${this.options.maxTasks} tasks).`, 5);
    }
    this.records.set(task.id, { task, expiresAt: this.now() + this.options.ttlSeconds * 1000 });
  }

  async get(id: string): Promise<Task | undefined> {
    this.assertOpen();
    return this.live(id)?.task;
  }

  async markRunning(id: string, at: Date, maxAttempts: number): Promise<Task | undefined> {
    return this.transition(id, (task) => startTask(task, at, maxAttempts));
  }

  async markSucceeded(id: string, result: EmbeddingResult, at: Date): Promise<Task | undefined> {
    return this.transition(id, (task) => succeedTask(task, result, at));
  }

  async markFailed(id: string, failure: TaskFailure, at: Date): Promise<Task | undefined> {
    return this.transition(id, (task) => failTask(task, failure, at));
  }

  async markExpired(id: string, reason: string, at: Date): Promise<Task | undefined> {
    return this.transition(id, (task) => abandonTask(task, 'expired', reason, at));
  }

  async markCancelled(id: string, reason: string, at: Date): Promise<Task | undefined> {
    return this.transition(id, (task) => abandonTask(task, 'cancelled', reason, at));
  }

  async recent({ limit, status, model }: RecentTasksQuery): Promise<Task[]> {
    this.assertOpen();
    const records = [...this.records.values()].slice(-RECENT_TASKS).reverse();
    const now = this.now();
    return records
      .filter(({ task, expiresAt }) => expiresAt > now && (status === undefined || task.status === status) && (model === undefined || task.model === model))
      .slice(0, limit)
      .map(({ task }) => task);
  }

  async refuse(id: string, reason: string, at: Date): Promise<void> {
    this.assertOpen();
    const record = this.records.get(id);
    if (!record) return;
    this.records.delete(id);
    const task = isTerminal(record.task) ? record.task : abandonTask(record.task, 'cancelled', reason, at);
    this.refused.set(id, { task, expiresAt: record.expiresAt });
    if (this.refused.size > this.options.maxTasks) this.refused.delete(this.refused.keys().next().value!);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  get size(): number {
    return this.records.size;
  }

  private transition(id: string, change: (task: Task) => Task): Task | undefined {
    this.assertOpen();
    const record = this.live(id);
    if (!record) return undefined;
    if (isTerminal(record.task)) return record.task;
    record.task = change(record.task);
    return record.task;
  }

  private live(id: string): Record | undefined {
    for (const records of [this.records, this.refused]) {
      const record = records.get(id);
      if (!record) continue;
      if (record.expiresAt > this.now()) return record;
      records.delete(id);
    }
    return undefined;
  }

  private purgeExpired(): void {
    const now = this.now();
    // Insertion order is creation order and the TTL is fixed, so expired records come first.
    for (const [id, record] of this.records) {
      if (record.expiresAt > now) break;
      this.records.delete(id);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ServiceUnavailableError('The task store is closed.');
  }
}
