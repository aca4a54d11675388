import { Redis } from 'ioredis';
import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';

export interface RedisTaskEventsOptions {
  readonly url?: string;
  readonly host?: string;
  readonly port?: number;
  readonly password?: string;
  readonly db?: number;
  readonly tls?: boolean;
  /** The channel is `<keyPrefix>finished`. */
  readonly keyPrefix: string;
}

/**
 * Announcements over Redis pub/sub, on one channel per deployment. Each
 * process keeps one subscriber connection and fans announcements out to its
 * local watches, however many there are; the subscription is made on the
 * first watch, so a process that never waits holds no subscriber.
 */
export class RedisTaskEvents implements TaskEvents {
  private readonly publisher: Redis;
  private subscriber: Redis | undefined;
  private subscribed: Promise<unknown> | undefined;
  private readonly channel: string;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(private readonly options: RedisTaskEventsOptions) {
    this.channel = `${options.keyPrefix}finished`;
    this.publisher = this.connect();
  }

  async announceFinished(taskId: string): Promise<void> {
    await this.publisher.publish(this.channel, taskId);
  }

  watch(taskId: string): TaskWatch {
    this.ensureSubscribed();
    let wake!: () => void;
    const finished = new Promise<void>((resolve) => (wake = resolve));
    const set = this.watchers.get(taskId) ?? new Set();
    set.add(wake);
    this.watchers.set(taskId, set);
    return {
      finished,
      cancel: () => {
        set.delete(wake);
        if (set.size === 0 && this.watchers.get(taskId) === set) this.watchers.delete(taskId);
      },
    };
  }

  /** Resolves once the subscription is in place (watches made before it may miss announcements). */
  async ready(): Promise<void> {
    this.ensureSubscribed();
    await this.subscribed;
  }

  async close(): Promise<void> {
    this.watchers.clear();
    await Promise.allSettled([this.publisher.quit(), this.subscriber?.quit()]);
  }

  private ensureSubscribed(): void {
    if (this.subscriber) return;
    const subscriber = this.connect();
    subscriber.on('message', (_channel: string, taskId: string) => {
      const set = this.watchers.get(taskId);
      if (!set) return;
      this.watchers.delete(taskId);
      for (const wake of set) wake();
    });
    // ioredis resubscribes by itself after a reconnection.
    this.subscribed = subscriber.subscribe(this.channel).catch(() => undefined);
    this.subscriber = subscriber;
  }

  private connect(): Redis {
    const o = this.options;
    const connection = {
      ...(o.host !== undefined && { host: o.host }),
      ...(o.port !== undefined && { port: o.port }),
      ...(o.password && { password: o.password }),
      ...(o.db !== undefined && { db: o.db }),
      ...(o.tls && { tls: {} }),
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 5_000),
    };
    const redis = o.url ? new Redis(o.url, connection) : new Redis(connection);
    redis.on('error', () => undefined);
    return redis;
  }
}
