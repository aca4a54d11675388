import type { Redis } from 'ioredis';
import {
  ServiceUnavailableError,
  TaskAlreadyExistsError,
  type EmbeddingResult,
  type TaskFailure,
  type Task,
} from '../../domain/index.js';
import { RECENT_TASKS, type RecentTasksQuery, type TaskStore } from '../../ports/task-store.js';
import type { Tracing } from '../../ports/tracing.js';
import { closeRedis, command, connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, type RedisConnectionOptions } from './connection.js';
import { CREATE, FINISH, MARK_RUNNING } from './task-scripts.js';
import { decodeTask, encodeFailure, encodeResult, encodeTask, pairs, type Fields } from './task-codec.js';

export interface RedisTaskStoreOptions extends RedisConnectionOptions {
  /** Prepended to every key, so deployments can share a Redis. */
  readonly keyPrefix: string;
  /** Records expire this long after creation, and again this long after they finish. */
  readonly ttlSeconds: number;
  /** A client span per write (a task created, started, finished); none without. */
  readonly tracing?: Tracing;
  /**
   * Replicas that must hold a task's creation and its end before either is
   * acknowledged (Redis's WAIT, within the command timeout); 0 waits for
   * none. Replication is asynchronous: without it, a failover can lose what
   * the primary had not yet passed on.
   */
  readonly waitReplicas?: number;
}

/** What a listing reads of each task: everything but its inputs and vectors. */
const SUMMARY_FIELDS = [
  'model',
  'status',
  'priority',
  'input_count',
  'created_at',
  'started_at',
  'finished_at',
  'attempts',
  'error',
  'failure',
  'request_id',
  'deadline',
  'owner',
] as const;

type Scripted = Redis & {
  createTask(key: string, recent: string, ttl: number, createdAt: string, model: string, id: string, keep: number, ...fields: (string | Buffer)[]): Promise<number>;
  markRunningBuffer(key: string, at: string, maxAttempts: number): Promise<Buffer[]>;
  finishBuffer(key: string, ttl: number, finishedAt: string, ...fields: (string | Buffer)[]): Promise<Buffer[]>;
};

/**
 * `TaskStore` on Redis (ioredis). Commands fail fast while Redis is
 * unreachable (no offline queue), so a request gets a 503 instead of hanging;
 * the client reconnects by itself with backoff.
 */
export class RedisTaskStore implements TaskStore {
  private readonly redis: Scripted;

  constructor(private readonly options: RedisTaskStoreOptions) {
    // Auto-pipelining: a batch's result writes, issued in the same tick, go out together.
    const redis = connectRedis(options, { failFast: true, autoPipelining: true });
    redis.defineCommand('createTask', { numberOfKeys: 2, lua: CREATE });
    redis.defineCommand('markRunning', { numberOfKeys: 1, lua: MARK_RUNNING });
    redis.defineCommand('finish', { numberOfKeys: 1, lua: FINISH });
    this.redis = redis as Scripted;
  }

  async create(task: Task): Promise<void> {
    const fields = encodeTask(task);
    const created = await this.write('create', task.id, () =>
      this.redis.createTask(
        this.key(task.id),
        this.recentKey(),
        this.options.ttlSeconds,
        String(fields.created_at),
        task.model,
        task.id,
        RECENT_TASKS,
        ...flatten(fields),
      ),
    );
    if (created === 0) throw new TaskAlreadyExistsError(task.id);
    await this.replicated(task.id).catch(async (error: unknown) => {
      // Not durable, so not accepted: the record is ended, so that nothing runs a task its caller was told failed.
      await this.finish(task.id, new Date(), { status: 'cancelled', error: 'Refused at submit: too few replicas had it.' }, false).catch(() => undefined);
      throw error;
    });
  }

  async get(id: string): Promise<Task | undefined> {
    const raw = await this.call(() => this.redis.hgetallBuffer(this.key(id)));
    return decodeTask(id, raw);
  }

  async markRunning(id: string, at: Date, maxAttempts: number): Promise<Task | undefined> {
    const reply = await this.write('start', id, () => this.redis.markRunningBuffer(this.key(id), String(at.getTime()), maxAttempts));
    return decodeTask(id, pairs(reply));
  }

  async markSucceeded(id: string, result: EmbeddingResult, at: Date): Promise<Task | undefined> {
    return this.finish(id, at, { status: 'succeeded', ...encodeResult(result) });
  }

  async markFailed(id: string, failure: TaskFailure, at: Date): Promise<Task | undefined> {
    return this.finish(id, at, { status: 'failed', ...encodeFailure(failure) });
  }

  async markExpired(id: string, reason: string, at: Date): Promise<Task | undefined> {
    return this.finish(id, at, { status: 'expired', error: reason });
  }

  async markCancelled(id: string, reason: string, at: Date): Promise<Task | undefined> {
    return this.finish(id, at, { status: 'cancelled', error: reason });
  }

  async recent({ limit, status, model }: RecentTasksQuery): Promise<Task[]> {
    const ids = await this.call(() => this.redis.zrevrange(this.recentKey(), 0, RECENT_TASKS - 1));
    if (ids.length === 0) return [];
    const rows = await this.call(() => {
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hmgetBuffer(this.key(id), ...SUMMARY_FIELDS);
      return pipeline.exec();
    });
    const tasks: Task[] = [];
    ids.forEach((id, i) => {
      const values = (rows?.[i]?.[1] ?? []) as (Buffer | null)[];
      const raw: Record<string, Buffer> = {};
      SUMMARY_FIELDS.forEach((field, f) => {
        if (values[f]) raw[field] = values[f];
      });
      // An expired or removed task has left its hash behind, not yet its index entry.
      const task = decodeTask(id, raw);
      if (task && (status === undefined || task.status === status) && (model === undefined || task.model === model)) tasks.push(task);
    });
    return tasks.slice(0, limit);
  }

  async refuse(id: string, reason: string, at: Date): Promise<void> {
    // Ended like a cancelled task (its inputs dropped), then out of the recent list.
    await this.finish(id, at, { status: 'cancelled', error: reason });
    await this.call(() => this.redis.zrem(this.recentKey(), id));
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  /** Ends a task; `durably`, once `waitReplicas` replicas have the end too (a worker that is told otherwise writes it again). */
  private async finish(id: string, at: Date, fields: Fields, durably = true): Promise<Task | undefined> {
    const reply = await this.write(`finish (${String(fields.status)})`, id, () =>
      this.redis.finishBuffer(this.key(id), this.options.ttlSeconds, String(at.getTime()), ...flatten(fields)),
    );
    if (durably) await this.replicated(id);
    return decodeTask(id, pairs(reply));
  }

  /** Resolves once `waitReplicas` replicas have every write this client made so far; fails (503) when they do not in time. */
  private async replicated(taskId: string): Promise<void> {
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted === 0) return;
    const timeoutMs = this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    // WAIT blocks on the server for up to its own timeout: the client's timeout is set past it.
    const acked = await command(this.redis, () => this.redis.wait(wanted, timeoutMs), { ...this.options, commandTimeoutMs: timeoutMs * 2 });
    if (acked < wanted) {
      throw new ServiceUnavailableError(`Task ${taskId}: ${acked} of the ${wanted} replicas required acknowledged its record in ${timeoutMs} ms.`, 2);
    }
  }

  private key(id: string): string {
    return `${this.options.keyPrefix}task:${id}`;
  }

  private recentKey(): string {
    return `${this.options.keyPrefix}tasks:recent`;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return command(this.redis, run, this.options);
  }

  /** A command that changes a task, in a client span of its own after the database conventions. */
  private write<T>(operation: string, taskId: string, run: () => Promise<T>): Promise<T> {
    const tracing = this.options.tracing;
    if (!tracing) return this.call(run);
    const attributes = { 'db.system.name': 'redis', 'db.operation.name': 'EVALSHA', 'embedding_service.task_id': taskId };
    return tracing.inSpan(`task store ${operation}`, { kind: 'client', attributes }, () => this.call(run));
  }
}

function flatten(fields: Fields): (string | Buffer)[] {
  return Object.entries(fields).flat();
}
