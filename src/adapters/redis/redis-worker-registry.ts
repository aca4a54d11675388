import type { Redis } from 'ioredis';
import type { WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';
import { command, connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisWorkerRegistryOptions extends RedisConnectionOptions {
  /** Heartbeats are keys `<keyPrefix>worker:<id>`. */
  readonly keyPrefix: string;
}

/** One key per worker, holding its beat as JSON and expiring with it (SET … EX). */
export class RedisWorkerRegistry implements WorkerRegistry {
  private readonly redis: Redis;

  constructor(private readonly options: RedisWorkerRegistryOptions) {
    this.redis = connectRedis(options, { failFast: true });
  }

  async heartbeat(beat: WorkerBeat, ttlSeconds: number): Promise<void> {
    await this.call(() =>
      this.redis.set(this.key(beat.workerId), JSON.stringify(beat), 'EX', ttlSeconds),
    );
  }

  async live(): Promise<readonly WorkerBeat[]> {
    const keys = await this.call(() => this.scan(`${this.options.keyPrefix}worker:*`));
    if (keys.length === 0) return [];
    const values = await this.call(() => this.redis.mget(...keys));
    return values
      .filter((v): v is string => v !== null)
      .map((v) => {
        const { startedAt, reportedAt, ...rest } = JSON.parse(v) as Omit<WorkerBeat, 'startedAt' | 'reportedAt'> & { startedAt: string; reportedAt?: string };
        const beat: WorkerBeat = { ...rest, startedAt: new Date(startedAt), ...(reportedAt !== undefined && { reportedAt: new Date(reportedAt) }) };
        return beat;
      });
  }

  async remove(workerId: string): Promise<void> {
    await this.call(() => this.redis.del(this.key(workerId)));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  private key(workerId: string): string {
    return `${this.options.keyPrefix}worker:${workerId}`;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return command(this.redis, run);
  }
}
