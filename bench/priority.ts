/*
 * npm run bench:priority: how long a high-priority task waits behind a
 * backlog, on classic queues (priorities 0–9 in the broker) and on quorum
 * queues (two classes: a high queue beside the normal one, see
 * HIGH_PRIORITY_FROM). A consumer with the worker's prefetch takes tasks
 * at a steady pace (INFERENCE_MS each, as one inference would); BACKLOG
 * normal tasks wait, then one task of priority 9 is published. Reported:
 * how many tasks were delivered before it, and its wait, against the wait
 * of a normal task published at the same moment. Needs AMQP_URL.
 */
import { randomUUID } from 'node:crypto';
import { createPinoLogger } from '../src/adapters/pino/pino-logger.js';
import type { QueueType } from '../src/adapters/rabbitmq/queue-types.js';
import { RabbitMqTaskQueue } from '../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import type { TaskMessage } from '../src/domain/index.js';

const BACKLOG = 1_000;
const PREFETCH = 64;
const INFERENCE_MS = 2;
const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function measure(queueType: QueueType) {
  const prefix = `bench-priority-${randomUUID().slice(0, 8)}.`;
  const queue = new RabbitMqTaskQueue({ url, queuePrefix: prefix, queueType, logger: createPinoLogger({ level: 'warn' }) });
  const model = 'm';
  const message = (priority: number): TaskMessage => ({ taskId: randomUUID(), model, inputs: ['a text'], priority, enqueuedAt: new Date() });
  try {
    for (let i = 0; i < BACKLOG; i++) await queue.publish(message(0));
    const delivered: string[] = [];
    const at = new Map<string, number>();
    let busy = Promise.resolve();
    const subscription = await queue.consume(
      model,
      (delivery) => {
        // One task at a time, as a model runs one inference at a time.
        busy = busy.then(async () => {
          await new Promise((resolve) => setTimeout(resolve, INFERENCE_MS));
          delivered.push(delivery.message.taskId);
          at.set(delivery.message.taskId, performance.now());
          await delivery.ack();
        });
        return busy;
      },
      { prefetch: PREFETCH },
    );
    while (delivered.length < 100) await new Promise((resolve) => setTimeout(resolve, 5));
    const high = message(9);
    const normal = message(0);
    const sentAt = performance.now();
    await Promise.all([queue.publish(high), queue.publish(normal)]);
    while (!at.has(normal.taskId)) await new Promise((resolve) => setTimeout(resolve, 5));
    await subscription.cancel();
    const before = delivered.indexOf(high.taskId) - delivered.findIndex((id) => (at.get(id) ?? 0) >= sentAt);
    return { queueType, deliveredBeforeHigh: before, highWaitMs: Math.round(at.get(high.taskId)! - sentAt), normalWaitMs: Math.round(at.get(normal.taskId)! - sentAt) };
  } finally {
    await queue.close();
    const { default: amqplib } = await import('amqplib');
    const connection = await amqplib.connect(url);
    const channel = await connection.createChannel();
    for (const name of queue.declaredQueues()) await channel.deleteQueue(name).catch(() => undefined);
    await connection.close();
  }
}

const rows = [];
for (const type of ['classic', 'quorum', 'classic', 'quorum'] as const) rows.push(await measure(type));
console.table(rows);
