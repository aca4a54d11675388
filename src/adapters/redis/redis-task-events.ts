import type { Redis } from 'ioredis';
import type { TaskEvents, TaskWatch } from '../../ports/task-events.js';
import { TaskWatchers } from '../shared/task-watchers.js';
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
  private readonly watchers = new TaskWatchers();

  constructor(private readonly options: RedisTaskEventsOptions) {
    this.channel = `${options.keyPrefix}finished`;
    this.publisher = connectRedis(options, { failFast: true });
  }

  async announceFinished(taskId: string): Promise<void> {
    await this.publisher.publish(this.channel, taskId);
  }

  watch(taskId: string): TaskWatch {
    return this.watchers.watch(taskId, this.ensureSubscribed());
  }

  /** Resolves once the subscription is in place (watches made before it may miss announcements). */
  async ready(): Promise<void> {
    await this.ensureSubscribed();
  }

  async close(): Promise<void> {
    this.watchers.clear();
    await Promise.allSettled([this.publisher.quit(), this.subscriber?.quit()]);
  }

  private ensureSubscribed(): Promise<void> {
    if (this.subscribed) return this.subscribed;
    // A subscriber keeps its subscription across reconnections, so it queues rather than fails.
    const subscriber = connectRedis(this.options, { failFast: false });
    subscriber.on('message', (_channel: string, taskId: string) => this.watchers.wake(taskId));
    // ioredis resubscribes by itself after a reconnection.
    this.subscribed = subscriber.subscribe(this.channel).then(
      () => undefined,
      () => undefined,
    );
    this.subscriber = subscriber;
    return this.subscribed;
  }
}
