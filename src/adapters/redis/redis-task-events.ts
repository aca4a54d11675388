import type { Redis } from 'ioredis';
import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';
import { connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisTaskEventsOptions extends RedisConnectionOptions {
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
  private subscribed: Promise<void> | undefined;
  private readonly channel: string;
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(private readonly options: RedisTaskEventsOptions) {
    this.channel = `${options.keyPrefix}finished`;
    this.publisher = connectRedis(options, { failFast: true });
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
      ready: this.subscribed!,
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
    // A subscriber keeps its subscription across reconnections, so it queues rather than fails.
    const subscriber = connectRedis(this.options, { failFast: false });
    subscriber.on('message', (_channel: string, taskId: string) => {
      const set = this.watchers.get(taskId);
      if (!set) return;
      this.watchers.delete(taskId);
      for (const wake of set) wake();
    });
    // ioredis resubscribes by itself after a reconnection.
    this.subscribed = subscriber.subscribe(this.channel).then(
      () => undefined,
      () => undefined,
    );
    this.subscriber = subscriber;
  }
}
