import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { RabbitMqTaskQueue } from '../../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import type { QueueType } from '../../src/adapters/rabbitmq/queue-types.js';
import { DEAD_LETTER_QUEUE, DEAD_LETTER_REASON, workQueueArguments } from '../../src/adapters/rabbitmq/topology.js';
import { CapacityExceededError, type TaskMessage } from '../../src/domain/index.js';
import type { Delivery } from '../../src/ports/task-queue.js';
import { taskQueueContract } from '../contracts/task-queue.contract.js';
import { taskCallerContract } from '../contracts/task-caller.contract.js';
import { rabbitmq, requireOrSkip } from '../support/infra.js';
import { LogSink } from '../support/log-sink.js';
import { canManageBroker, closeConnectionsNamed, connectionsNamed } from '../support/rabbitmq-connections.js';
import { waitFor } from '../support/wait.js';

const infra = await requireOrSkip('RabbitMQ', await rabbitmq());
afterAll(async () => {
  await infra?.stop();
});

/** Each harness gets its own queue prefix, so tests never see each other's messages. */
function harness(maxLength?: number, queueType: QueueType = 'classic', deliveryLimit?: number) {
  const prefix = `test.${randomUUID().slice(0, 8)}.`;
  const connectionName = `test-${prefix}`;
  const logs = new LogSink();
  const malformed: string[] = [];
  const clients: RabbitMqTaskQueue[] = [];
  const connect = async () => {
    const client = new RabbitMqTaskQueue({
      url: infra!.url,
      queuePrefix: prefix,
      connectionName,
      onMalformed: (model) => malformed.push(model),
      logger: createPinoLogger({ level: 'debug', destination: logs }),
      publishTimeoutMs: 3_000,
      ...(maxLength !== undefined && { maxLength }),
      queueType,
      ...(deliveryLimit !== undefined && { deliveryLimit }),
    });
    clients.push(client);
    return client;
  };
  const cleanup = async () => {
    const connection = await amqplib.connect(infra!.url);
    const channel = await connection.createChannel();
    for (const client of clients) await client.close();
    // Delete what the tests declared; the names come from the prefix.
    for (const client of clients) {
      for (const name of client.declaredQueues()) await channel.deleteQueue(name).catch(() => undefined);
    }
    await connection.close();
  };
  return { prefix, connectionName, logs, malformed, connect, cleanup, maxLength, priorityClasses: queueType === 'quorum', lengthOvershoot: queueType === 'quorum' ? 1 : 0 };
}

describe.skipIf(!infra)('RabbitMqTaskQueue', () => {
  taskQueueContract('rabbitmq', async () => harness(20));
  taskCallerContract('rabbitmq', async () => harness(20));
  taskQueueContract('rabbitmq, quorum queues', async () => harness(20, 'quorum'));
  taskCallerContract('rabbitmq, quorum queues', async () => harness(20, 'quorum'));

  let h: ReturnType<typeof harness>;
  let queue: RabbitMqTaskQueue;
  let model: string;
  const message = (fields: Partial<TaskMessage> = {}): TaskMessage => ({
    taskId: randomUUID(),
    model,
    inputs: ['a'],
    priority: 0,
    enqueuedAt: new Date(),
    ...fields,
  });
  const rawChannel = async () => {
    const connection = await amqplib.connect(infra!.url);
    return { connection, channel: await connection.createChannel() };
  };

  beforeEach(async () => {
    h = harness();
    queue = await h.connect();
    model = `m-${randomUUID().slice(0, 8)}`;
    return () => h.cleanup();
  });

  it('declares durable queues with priorities and a dead-letter queue, and persists messages', async () => {
    await queue.publish(message({ priority: 7 }));
    const { connection, channel } = await rawChannel();
    try {
      const got = await channel.get(queue.queueName(model), { noAck: true });
      expect(got && got.properties.deliveryMode).toBe(2);
      expect(got && got.properties.priority).toBe(7);
      await expect(channel.checkQueue(queue.deadLetterQueueName(model))).resolves.toMatchObject({ messageCount: 0 });
    } finally {
      await connection.close();
    }
  });

  it('dead-letters what it cannot decode, or what sits on the wrong model’s queue, and goes on', async () => {
    const seen: Delivery[] = [];
    await queue.consume(model, async (d) => {
      seen.push(d);
      await d.ack();
    }, { prefetch: 5 });
    // depth() returns once the broker has the queue, so the raw publishes below are routed.
    await queue.depth(model);
    const { connection, channel } = await rawChannel();
    try {
      const name = queue.queueName(model);
      channel.sendToQueue(name, Buffer.from('not json at all'));
      channel.sendToQueue(name, Buffer.from(JSON.stringify({ taskId: 'x', model })));
      channel.sendToQueue(name, Buffer.from(JSON.stringify({ ...message({ model: 'someone-else' }), enqueuedAt: new Date().toISOString() })));
      const good = message();
      await queue.publish(good);
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.message.taskId).toBe(good.taskId);
      await waitFor(async () => (await channel.checkQueue(queue.deadLetterQueueName(model))).messageCount === 3);
      expect(h.logs.lines.filter((l) => l.msg === 'dead-lettering a malformed message')).toHaveLength(3);
      const reasons: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const dead = await channel.get(queue.deadLetterQueueName(model), { noAck: true });
        reasons.push(dead && dead.properties.headers?.[DEAD_LETTER_REASON]);
      }
      expect(reasons).toEqual([expect.stringMatching(/^malformed: not JSON/), expect.stringMatching(/^malformed: /), "model 'someone-else' does not belong on this queue"]);
      expect(h.malformed).toEqual([model, model, model]);
    } finally {
      await connection.close();
    }
  });

  it('dead-letters a message with its reason and the queue it came from, intact', async () => {
    const sent = message({ priority: 4 });
    await queue.consume(model, (d) => d.deadLetter('no task record: it expired'), { prefetch: 1 });
    await queue.publish(sent);
    const { connection, channel } = await rawChannel();
    try {
      let dead: amqplib.GetMessage | false = false;
      await waitFor(async () => (dead = await channel.get(queue.deadLetterQueueName(model), { noAck: true })) !== false);
      const got = dead as unknown as amqplib.GetMessage;
      expect(got.properties.headers).toMatchObject({ [DEAD_LETTER_REASON]: 'no task record: it expired', [DEAD_LETTER_QUEUE]: queue.queueName(model) });
      expect(got.properties.messageId).toBe(sent.taskId);
      expect(JSON.parse(got.content.toString())).toMatchObject({ taskId: sent.taskId, inputs: sent.inputs });
      expect(await queue.depth(model)).toBe(0);
    } finally {
      await connection.close();
    }
  });

  it('refuses a publish beyond x-max-length with CapacityExceededError', async () => {
    const bounded = harness(2);
    const client = await bounded.connect();
    try {
      await client.publish(message());
      await client.publish(message());
      await expect(client.publish(message())).rejects.toBeInstanceOf(CapacityExceededError);
    } finally {
      await bounded.cleanup();
    }
  });

  it('reconnects by itself after the broker drops its connections, losing nothing', async (ctx) => {
    if (!canManageBroker(infra!.url)) ctx.skip();
    // Three messages are delivered and left unsettled when the connection drops; three more are published after.
    const before = [message(), message(), message()];
    const after = [message(), message(), message()];
    let dropped = false;
    const held: Delivery[] = [];
    const acked = new Map<string, Delivery>();
    await queue.consume(
      model,
      async (d) => {
        if (!dropped) {
          held.push(d);
          return;
        }
        await d.ack();
        acked.set(d.message.taskId, d);
      },
      { prefetch: 5 },
    );
    for (const m of before) await queue.publish(m);
    await waitFor(() => held.length === 3, 5_000, 'the first deliveries');

    dropped = true;
    const previous = connectionsNamed(h.connectionName);
    expect(closeConnectionsNamed(h.connectionName)).toBeGreaterThan(0);
    // The client reconnects at once: a new connection under the same name shows it has.
    await waitFor(() => connectionsNamed(h.connectionName).some((id) => !previous.includes(id)), 15_000, 'reconnection');
    // A publish that meets the moment of the drop is refused (503), never lost: the client would retry it.
    for (const m of after) await waitFor(async () => queue.publish(m).then(() => true, () => false), 5_000, 'a publish to go through');

    const all = [...before, ...after].map((m) => m.taskId);
    await waitFor(() => all.every((id) => acked.has(id)), 15_000, 'every message acknowledged after reconnection');
    // What was in flight at the drop came back, marked as redelivered.
    expect(before.every((m) => acked.get(m.taskId)!.redelivered)).toBe(true);
    expect(after.every((m) => !acked.get(m.taskId)!.redelivered)).toBe(true);
    // The held deliveries belong to the dead channel: settling them now is ignored, not a protocol error.
    for (const d of held) await d.ack();
    await waitFor(async () => (await queue.depth(model)) === 0);
    const { connection, channel } = await rawChannel();
    try {
      expect((await channel.checkQueue(queue.deadLetterQueueName(model))).messageCount).toBe(0);
    } finally {
      await connection.close();
    }
  });
});

describe.skipIf(!infra)('RabbitMqTaskQueue on quorum queues', () => {
  let model: string;
  const message = (fields: Partial<TaskMessage> = {}): TaskMessage => ({ taskId: randomUUID(), model, inputs: ['a'], priority: 0, enqueuedAt: new Date(), ...fields });
  const withChannel = async <T>(work: (channel: amqplib.Channel) => Promise<T>): Promise<T> => {
    const connection = await amqplib.connect(infra!.url);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      return await work(channel);
    } finally {
      await connection.close().catch(() => undefined);
    }
  };

  beforeEach(() => {
    model = `m-${randomUUID().slice(0, 8)}`;
  });

  it('declares each of a model’s queues as a quorum queue with a delivery limit and at-least-once dead-lettering, and high priorities go to the high queue', async () => {
    const h = harness(undefined, 'quorum', 7);
    try {
      const queue = await h.connect();
      await queue.publish(message({ priority: 9 }));
      await queue.publish(message({ priority: 4 }));
      const name = queue.queueName(model);
      const settings = { type: 'quorum' as const, deliveryLimit: 7 };
      // A declaration with exactly these arguments is accepted only by a quorum queue declared with them.
      for (const declared of [name, `${name}.high`, `${name}.calls`, `${name}.calls.high`, `${name}.bulk`]) {
        await withChannel((channel) => channel.assertQueue(declared, { durable: true, arguments: workQueueArguments('quorum', queue.deadLetterQueueName(model), settings) }));
      }
      const counts = await withChannel(async (channel) => [(await channel.checkQueue(name)).messageCount, (await channel.checkQueue(`${name}.high`)).messageCount]);
      expect(counts).toEqual([1, 1]);
      expect(await queue.depth(model)).toBe(2);
    } finally {
      await h.cleanup();
    }
  });

  it('dead-letters a message its consumers keep returning once the delivery limit is reached, and says why', async () => {
    const h = harness(undefined, 'quorum', 2);
    try {
      const queue = await h.connect();
      const sent = message();
      await queue.publish(sent);
      const deliveries: Delivery[] = [];
      const subscription = await queue.consume(model, async (d) => {
        deliveries.push(d);
        await d.requeue();
      }, { prefetch: 1 });
      await waitFor(async () => (await queue.stats(model)).deadLettered === 1, 10_000, 'the broker to dead-letter it');
      await subscription.cancel();
      // Delivered as often as the limit allows (the first time, and once per return), then no more.
      expect(deliveries.length).toBeGreaterThanOrEqual(2);
      expect(deliveries.length).toBeLessThanOrEqual(3);
      const [letter] = await queue.deadLetters(model, 10);
      expect(letter).toMatchObject({ message: { taskId: sent.taskId }, reason: expect.stringMatching(/delivery limit/) });
    } finally {
      await h.cleanup();
    }
  });

  it('keeps using a classic deployment’s queues, priorities and all, when restarted with quorum queues, and makes new models’ queues quorum', async () => {
    const classic = harness();
    const logs = new LogSink();
    try {
      const before = await classic.connect();
      const low = message({ priority: 1 });
      const high = message({ priority: 8 });
      await before.publish(low);
      await before.close();
      // The same queues, seen by a deployment configured for quorum queues.
      const after = new RabbitMqTaskQueue({
        url: infra!.url,
        queuePrefix: classic.prefix,
        queueType: 'quorum',
        logger: createPinoLogger({ level: 'debug', destination: logs }),
      });
      try {
        await after.publish(high);
        const name = after.queueName(model);
        // Still classic: both on the model's own queue, with the broker's priorities.
        expect(after.queueName(model, 'interactive', 8)).toBe(name);
        const seen: Delivery[] = [];
        const subscription = await after.consume(model, async (d) => {
          seen.push(d);
          await d.ack();
        }, { prefetch: 1 });
        await waitFor(() => seen.length === 2);
        await subscription.cancel();
        expect(seen.map((d) => d.message.taskId)).toEqual([high.taskId, low.taskId]);
        expect(logs.lines.filter((line) => line.msg === 'queue keeps the type it was created with, not the configured one').length).toBeGreaterThan(0);
        // A model it declares first gets quorum queues, and its high priorities their own queue.
        const other = `${model}-new`;
        await after.publish(message({ model: other, priority: 9 }));
        expect(after.queueName(other, 'interactive', 9)).toBe(`${after.queueName(other)}.high`);
      } finally {
        await after.close();
        await withChannel(async (channel) => {
          for (const name of after.declaredQueues()) await channel.deleteQueue(name).catch(() => undefined);
        });
      }
    } finally {
      await classic.cleanup();
    }
  });
});
