import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Allowance } from '../../domain/index.js';
import type { Take } from '../../ports/rate-limiter.js';
import { FixedWindowLimiter } from '../shared/fixed-window-limiter.js';
import { closeRedis, command, connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisRateLimiterOptions extends RedisConnectionOptions {
  /** Prepended to every key, so deployments can share a Redis. */
  readonly keyPrefix: string;
  readonly windowSeconds?: number;
}

/**
 * Allowances in Redis, so every API replica draws on the same ones:
 * rate-limiter-flexible counts with one Lua script (INCRBY and the window's
 * expiry together), which is what makes a take atomic across processes.
 * Commands fail fast while Redis is away or stalled: a 503, not a hang.
 */
export class RedisRateLimiter extends FixedWindowLimiter {
  private readonly redis: Redis;

  constructor(private readonly options: RedisRateLimiterOptions) {
    const windowSeconds = options.windowSeconds ?? 60;
    const redis = connectRedis(options, { failFast: true });
    super(
      (limit) => new RateLimiterRedis({ storeClient: redis, points: limit, duration: windowSeconds, keyPrefix: `${options.keyPrefix}ratelimit` }),
      windowSeconds * 1000,
    );
    this.redis = redis;
  }

  override take(bucket: string, amount: number, limit: number): Promise<Take> {
    return command(this.redis, () => super.take(bucket, amount, limit), this.options);
  }

  override peek(bucket: string, limit: number): Promise<Allowance> {
    return command(this.redis, () => super.peek(bucket, limit), this.options);
  }

  override async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}
