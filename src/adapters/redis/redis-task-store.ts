import type { Redis } from 'ioredis';
import {
  FINAL_TASK_STATUSES,
  TaskAlreadyExistsError,
  type EmbeddingResult,
  type TaskFailure,
  type Task,
} from '../../domain/index.js';
import { RECENT_TASKS, type RecentTasksQuery, type TaskStore } from '../../ports/task-store.js';
import type { Tracing } from '../../ports/tracing.js';
import { closeRedis, command, connectRedis, type RedisConnectionOptions } from './connection.js';
import { decodeTask, encodeFailure, encodeResult, encodeTask, pairs, type Fields } from './task-codec.js';

export interface RedisTaskStoreOptions extends RedisConnectionOptions {
  /** Prepended to every key, so deployments can share a Redis. */
  readonly keyPrefix: string;
  /** Records expire this long after creation, and again this long after they finish. */
  readonly ttlSeconds: number;
  /** A client span per write (a task created, started, finished); none without. */
  readonly tracing?: Tracing;
}

/*
 * Each transition is one Lua script, so it is atomic: the check of the current
 * status and the write cannot interleave with another worker's. Terminal tasks
 * are returned unchanged. Every script returns HGETALL of the key afterwards
 * (empty when the task does not exist).
 */
/*
 * Creating is idempotent: ioredis re-sends a script whose reply was lost to a
 * dropped connection, and the second run must not turn into "already exists".
 * KEYS: the task, the index of recent tasks. ARGV: ttl, created_at, model,
 * id, most recent tasks kept in the index, then the fields. A record with the
 * same creation time and model is that same task (ids are random UUIDs): 1,
 * as if created now. Another record under the id: 0.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local existing = redis.call('HMGET', KEYS[1], 'created_at', 'model')
  if existing[1] == ARGV[2] and existing[2] == ARGV[3] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[5]))
return 1`;

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

const TERMINAL_GUARD = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {} end
if ${FINAL_TASK_STATUSES.map((final) => `status == '${final}'`).join(' or ')} then return redis.call('HGETALL', KEYS[1]) end`;

/*
 * ARGV: the start time, the most attempts. A repeat with the same start time
 * (a re-sent script) counts no second attempt, and a task that has had its
 * attempts is left as it is.
 */
const MARK_RUNNING = `${TERMINAL_GUARD}
if status == 'running' and redis.call('HGET', KEYS[1], 'started_at') == ARGV[1] then return redis.call('HGETALL', KEYS[1]) end
if tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') >= tonumber(ARGV[2]) then return redis.call('HGETALL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return redis.call('HGETALL', KEYS[1])`;

/**
 * ARGV: ttl, the finish time, then field/value pairs to write (status, and
 * result or error). The inputs go: only the result is kept. A task finishes
 * no earlier than it last started (a late write keeps the times in order).
 */
const FINISH = `${TERMINAL_GUARD}
local started = tonumber(redis.call('HGET', KEYS[1], 'started_at') or '0')
local finished = math.max(tonumber(ARGV[2]), started)
redis.call('HDEL', KEYS[1], 'inputs')
redis.call('HSET', KEYS[1], 'finished_at', string.format('%.0f', finished), unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])`;

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

  private async finish(id: string, at: Date, fields: Fields): Promise<Task | undefined> {
    const reply = await this.write(`finish (${String(fields.status)})`, id, () =>
      this.redis.finishBuffer(this.key(id), this.options.ttlSeconds, String(at.getTime()), ...flatten(fields)),
    );
    return decodeTask(id, pairs(reply));
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
