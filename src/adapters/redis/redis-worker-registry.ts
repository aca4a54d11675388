import type { Redis } from 'ioredis';
import type { WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';
import { closeRedis, command, connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisWorkerRegistryOptions extends RedisConnectionOptions {
  /** Heartbeats are keys `<keyPrefix>worker:<id>`. */
  readonly keyPrefix: string;
}

/**
 * One key per worker, holding its beat as JSON and expiring with it (SET …
 * EX), and a sorted set of worker ids scored by when their beat expires, so
 * that `live()` reads the live workers' keys directly. (It used to SCAN for
 * them: a walk over the whole keyspace, task records included, every
 * second in every API process.)
 */
export class RedisWorkerRegistry implements WorkerRegistry {
  private readonly redis: Redis;

  constructor(private readonly options: RedisWorkerRegistryOptions) {
    this.redis = connectRedis(options, { failFast: true });
  }

  async heartbeat(beat: WorkerBeat, ttlSeconds: number): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    await this.call(() =>
      this.redis
        .multi()
        .set(this.key(beat.workerId), JSON.stringify(beat), 'EX', ttlSeconds)
        .zadd(this.indexKey(), expiresAt, beat.workerId)
        .exec(),
    );
  }

  async live(): Promise<readonly WorkerBeat[]> {
    const now = Date.now();
    const ids = await this.call(() => this.redis.zrangebyscore(this.indexKey(), now, '+inf'));
    // Workers whose beats expired leave the index here; their keys expired by themselves.
    void this.redis.zremrangebyscore(this.indexKey(), '-inf', now).catch(() => undefined);
    if (ids.length === 0) return [];
    const values = await this.call(() => this.redis.mget(...ids.map((id) => this.key(id))));
    return values
      .filter((v): v is string => v !== null)
      .map((v) => {
        const { startedAt, reportedAt, ...rest } = JSON.parse(v) as Omit<WorkerBeat, 'startedAt' | 'reportedAt'> & { startedAt: string; reportedAt?: string };
        const beat: WorkerBeat = { ...rest, startedAt: new Date(startedAt), ...(reportedAt !== undefined && { reportedAt: new Date(reportedAt) }) };
        return beat;
      });
  }

  async remove(workerId: string): Promise<void> {
    await this.call(() => this.redis.multi().del(this.key(workerId)).zrem(this.indexKey(), workerId).exec());
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  private key(workerId: string): string {
    return `${this.options.keyPrefix}worker:${workerId}`;
  }

  private indexKey(): string {
    return `${this.options.keyPrefix}workers`;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return command(this.redis, run, this.options);
  }
}
