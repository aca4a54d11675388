import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { RabbitMqTaskQueue } from '../../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import type { TaskMessage } from '../../src/domain/index.js';
import { taskMessage } from '../contracts/task-queue.contract.js';
import { rabbitmq, requireOrSkip } from '../support/infra.js';
import { LogSink } from '../support/log-sink.js';
import { deleteQueues } from '../support/namespace.js';
import { freePort } from '../support/processes.js';
import { canStartRabbitNode, rabbitNode, type RabbitNode } from '../support/rabbitmq-node.js';
import { waitFor } from '../support/wait.js';

/*
 * A broker of several nodes, as `AMQP_URL` lists them: the client connects
 * to the first that answers and, when its node goes, to the next, where it
 * declares its queues and consumes again. The nodes here are the machine's
 * and one of this test's own, which it stops; they are not a cluster, so
 * what this shows is the client's side of a node's loss, not the broker's
 * (quorum queues replicating the messages are another matter).
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());

describe.skipIf(!amqp || !canStartRabbitNode())('a broker given as several nodes', () => {
  const prefix = `nodes-${randomUUID().slice(0, 8)}.embeddings.`;
  let node: RabbitNode;

  beforeAll(async () => {
    node = (await rabbitNode())!;
  }, 120_000);
  afterAll(async () => {
    await node?.remove();
    await deleteQueues(amqp!.url, ['m', 'm.bulk', 'm.calls', 'm.dead'].map((q) => `${prefix}${q}`));
  }, 60_000);

  it('connects to the first node that answers, and when its node goes, moves to the next and consumes there', async () => {
    const logs = new LogSink();
    const unreachable = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    const queue = new RabbitMqTaskQueue({
      url: [unreachable, node.url, amqp!.url],
      queuePrefix: prefix,
      logger: createPinoLogger({ level: 'info', destination: logs }),
    });
    const received: TaskMessage[] = [];
    try {
      await queue.consume('m', async (delivery) => {
        received.push(delivery.message);
        await delivery.ack();
      }, { prefetch: 4 });
      const connectedTo = () => logs.lines.filter((l) => l.msg === 'connected to RabbitMQ').map((l) => l.node);
      const port = (url: string) => new URL(url).port;
      // The unreachable node first: it is skipped.
      await waitFor(() => connectedTo().length > 0, 5_000, 'a connection');
      expect(connectedTo()).toEqual([`127.0.0.1:${port(node.url)}`]);

      const first = taskMessage('m');
      await queue.publish(first);
      await waitFor(() => received.some((m) => m.taskId === first.taskId), 5_000, 'the message on the first node');

      // The node goes: the client moves to the next one that answers, declares its queues there, and consumes again.
      await node.stop();
      await waitFor(() => connectedTo().length === 2, 15_000, 'a connection to another node');
      expect(connectedTo()[1]).toBe(`127.0.0.1:${port(amqp!.url) || '5672'}`);
      const second = taskMessage('m');
      await waitFor(async () => (await queue.publish(second).then(() => true, () => false)), 10_000, 'a publish on the other node');
      await waitFor(() => received.some((m) => m.taskId === second.taskId), 5_000, 'the message on the other node');
    } finally {
      await queue.close();
    }
  }, 90_000);
});
