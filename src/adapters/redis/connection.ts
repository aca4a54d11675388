import { Redis, type RedisOptions } from 'ioredis';
import { ServiceUnavailableError } from '../../domain/index.js';
import type { StoreBudget } from '../../ports/store-budget.js';

export const DEFAULT_COMMAND_TIMEOUT_MS = 2_000;

/** Where Redis is: a redis:// or rediss:// URL, or its parts. */
export interface RedisConnectionOptions {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly password?: string;
  readonly db?: number;
  readonly tls?: boolean;
  /**
   * Redis under Sentinel: the sentinels to ask where the primary of
   * `name` is (the url, host and port are then not used). The client asks
   * them again after a failover and follows the promoted replica.
   */
  readonly sentinel?: {
    readonly sentinels: readonly { readonly host: string; readonly port: number }[];
    readonly name: string;
    readonly password?: string;
  };
  /**
   * Longest wait for a command's reply. A stalled Redis (paused, swapping,
   * partitioned without a reset) then fails the command, and the caller a
   * 503, instead of hanging. Default 2 s.
   */
  readonly commandTimeoutMs?: number;
  /**
   * The store time of the request a command runs for, which every command
   * of that request draws from: a request that makes several commands
   * during a stall fails after one timeout in all. Without it, each command
   * is timed alone.
   */
  readonly budget?: StoreBudget;
}

/**
 * A client that reconnects by itself with growing delays. With `failFast`,
 * commands are not queued while Redis is away and time out when it stalls:
 * they fail, so callers answer 503 instead of hanging (a subscriber wants the
 * opposite). With
 * `autoPipelining`, commands issued in the same tick go out as one pipeline.
 */
export function connectRedis(
  options: RedisConnectionOptions,
  { failFast, autoPipelining = false }: { failFast: boolean; autoPipelining?: boolean },
): Redis {
  const settings: RedisOptions = {
    ...(options.host !== undefined && { host: options.host }),
    ...(options.port !== undefined && { port: options.port }),
    ...(options.password && { password: options.password }),
    ...(options.db !== undefined && { db: options.db }),
    ...(options.tls && { tls: {} }),
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    ...(failFast && { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS }),
    enableAutoPipelining: autoPipelining,
  };
  const sentinel = options.sentinel;
  const redis = sentinel
    ? new Redis({
        ...settings,
        sentinels: sentinel.sentinels.map((s) => ({ ...s })),
        name: sentinel.name,
        ...(sentinel.password && { sentinelPassword: sentinel.password }),
        // Told by the sentinels at once of a failover (their +switch-master), rather than only when the old primary's connection drops.
        failoverDetector: true,
      })
    : options.url
      ? new Redis(options.url, settings)
      : new Redis(settings);
  // Failures surface through the commands that fail and through ping(); unheard, ioredis would log them.
  redis.on('error', () => undefined);
  return redis;
}

/** How long a command waits for a client that is (re)connecting, when it is not timed by a budget. */
const RECONNECT_WAIT_MS = 1_000;

/**
 * Runs a command, first giving a client that is still (re)connecting a moment
 * to get there, all within the command's share of its request's budget when
 * there is one. Any failure is a `ServiceUnavailableError`.
 */
export async function command<T>(redis: Redis, run: () => Promise<T>, { budget, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS }: RedisConnectionOptions = {}): Promise<T> {
  const attempt = async () => {
    if (redis.status !== 'ready') await whenReady(redis, Math.min(RECONNECT_WAIT_MS, commandTimeoutMs));
    return run();
  };
  try {
    return await (budget ? budget.charge(commandTimeoutMs, attempt) : attempt());
  } catch (error) {
    throw new ServiceUnavailableError(`Redis is unavailable: ${(error as Error).message}`, 2, { cause: error });
  }
}

/** One wait for 'ready' per client, however many commands wait on it: a listener each would pile up on a client that is away. */
const readiness = new WeakMap<Redis, Promise<void>>();

function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  let ready = readiness.get(redis);
  if (!ready) {
    ready = new Promise<void>((resolve) => redis.once('ready', () => resolve())).finally(() => readiness.delete(redis));
    readiness.set(redis, ready);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not connected (${redis.status})`)), timeoutMs);
  });
  return Promise.race([ready, late]).finally(() => clearTimeout(timer));
}

/** Closes a client: politely (QUIT, after what is queued) when Redis answers, at once when it does not. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
