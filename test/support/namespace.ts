import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';

/**
 * Names a test owns on the shared RabbitMQ and Redis: a key prefix and queue
 * names no other test or deployment uses, and a clean-up that deletes exactly
 * those (the queues with their bulk lanes and dead-letter queues, and the keys under the prefix).
 */
export interface TestNamespace {
  readonly id: string;
  /** For REDIS_KEY_PREFIX. */
  readonly keyPrefix: string;
  /** A queue name for `model` within the namespace (for ml_config's `queue`). */
  queue(model: string): string;
  cleanUp(servers: { amqpUrl?: string; redisUrl?: string }): Promise<void>;
}

export function testNamespace(label: string): TestNamespace {
  const id = randomUUID().slice(0, 8);
  const queues = new Set<string>();
  const keyPrefix = `${label}:${id}:`;
  return {
    id,
    keyPrefix,
    queue: (model) => {
      const name = `${label}.${id}.${model}`;
      queues.add(name);
      return name;
    },
    cleanUp: async ({ amqpUrl, redisUrl }) => {
      if (amqpUrl && queues.size > 0) await deleteQueues(amqpUrl, [...queues].flatMap((q) => [q, `${q}.bulk`, `${q}.calls`, `${q}.dead`]));
      if (redisUrl) await deleteKeys(redisUrl, keyPrefix);
    },
  };
}

export async function deleteQueues(amqpUrl: string, names: readonly string[]): Promise<void> {
  const connection = await amqplib.connect(amqpUrl);
  const channel = await connection.createChannel();
  for (const name of names) await channel.deleteQueue(name).catch(() => undefined);
  await connection.close();
}

/** Deletes every key under `prefix`, with SCAN so that a large Redis is not blocked. */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}
