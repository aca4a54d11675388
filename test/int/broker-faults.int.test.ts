import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { connect } from 'amqplib';
import { RabbitMqTaskQueue } from '../../src/adapters/rabbitmq/rabbitmq-task-queue.js';
import { deadLetterQueueOf } from '../../src/adapters/rabbitmq/topology.js';
import { ServiceUnavailableError, type TaskMessage } from '../../src/domain/index.js';
import { faultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { rabbitmq, requireOrSkip } from '../support/infra.js';
import { LogSink } from '../support/log-sink.js';
import { deleteQueues, testNamespace } from '../support/namespace.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/*
 * The broker unreachable, then back. Each test cuts its own proxy in front of
 * the shared RabbitMQ, so no other client of the broker notices.
 */

const infra = await requireOrSkip('RabbitMQ', await rabbitmq());

describe.skipIf(!infra)('RabbitMQ unreachable, then back', () => {
  let proxy: FaultProxy;
  let url: string;
  const namespace = testNamespace('brokerdown');
  beforeAll(async () => {
    const target = new URL(infra!.url);
    proxy = await faultProxy({ host: target.hostname, port: Number(target.port || 5672) });
    url = `amqp://${target.username}:${target.password}@127.0.0.1:${proxy.port}`;
  });
  afterAll(async () => {
    await proxy.close();
    await namespace.cleanUp({ amqpUrl: infra!.url });
  });

  it('refuses a publish within a second while the broker is away, and resumes publishing and consuming within two seconds of its return', async () => {
    const queue = new RabbitMqTaskQueue({
      url,
      queueNames: new Map([['m', namespace.queue('m')]]),
      logger: createPinoLogger({ level: 'silent', destination: new LogSink() }),
    });
    const message = (): TaskMessage => ({ taskId: randomUUID(), model: 'm', inputs: ['x'], priority: 0, enqueuedAt: new Date() });
    const seen = new Set<string>();
    try {
      await queue.consume('m', async (d) => {
        seen.add(d.message.taskId);
        await d.ack();
      }, { prefetch: 5 });
      const before = message();
      await queue.publish(before);
      await waitFor(() => seen.has(before.taskId));

      await proxy.cut();
      await waitFor(async () => queue.ping().then(() => false, () => true), 5_000, 'the drop to be noticed');
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const refused = await queue.publish(message()).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ServiceUnavailableError);
        expect((refused as ServiceUnavailableError).retryAfterSeconds).toBeGreaterThan(0);
        expect(performance.now() - started).toBeLessThan(1_000);
      }

      // Down long enough for the back-off to reach its cap, then back.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await proxy.resume();
      const back = performance.now();
      const after = message();
      await waitFor(async () => queue.publish(after).then(() => true, () => false), 5_000, 'a publish to go through');
      await waitFor(() => seen.has(after.taskId), 5_000, 'the consumer to get it');
      expect(performance.now() - back).toBeLessThan(2_000);
    } finally {
      await proxy.resume();
      await queue.close();
      await deleteQueues(infra!.url, [`${namespace.queue('m')}.dead`]);
    }
  });

  describe('through the HTTP API', () => {
    let t: TestService;
    beforeAll(async () => {
      t = await startTestService({ env: { QUEUE_DRIVER: 'rabbitmq', AMQP_URL: url, QUEUE_PUBLISH_TIMEOUT_MS: '1000' }, queueName: namespace.queue });
      await t.service.modelsSettled;
    });
    afterAll(async () => {
      await proxy.resume();
      await t.stop();
    });

    it('answers a submit with 503 and Retry-After within a second while the broker is away', async () => {
      expect((await t.post('/v1/embeddings/tasks', { input: 'before' })).status).toBe(202);
      await proxy.cut();
      try {
        await waitFor(async () => (await t.get('/health/ready')).status === 503, 5_000, 'readiness to notice');
        for (const send of [() => t.post('/v1/embeddings/tasks', { input: 'during' }), () => t.post('/v1/embeddings', { input: 'during' })]) {
          const started = performance.now();
          const response = await send();
          expect(response.status).toBe(503);
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
          expect(performance.now() - started).toBeLessThan(1_000);
        }
      } finally {
        await proxy.resume();
      }
      await waitFor(async () => (await t.post('/v1/embeddings/tasks', { input: 'after' })).status === 202, 5_000, 'submits to be accepted again');
    });

    it('never runs a submit it refused: its message, reaching the queue after the 503, is acknowledged and dropped, not dead-lettered', async () => {
      // Stalled, the broker neither confirms the publish nor loses it: it arrives once the stall ends.
      proxy.stall();
      let status: number;
      try {
        status = (await t.post('/v1/embeddings/tasks', { input: 'refused, then landed' })).status;
      } finally {
        await proxy.resume();
      }
      expect(status).toBe(503);
      await waitFor(
        () => t.logs.lines.some((l) => l.msg === 'task is already final; acknowledging its message' && l.status === 'cancelled'),
        10_000,
        'the refused task’s message to be delivered and dropped',
      );
      // Counted with the other stale starts (the earlier test's reconnection redelivers a task that had succeeded).
      expect(t.metrics!.counter('task_transitions_refused_total{model=tiny-bert,transition=start}')).toBeGreaterThanOrEqual(1);
      const connection = await connect(infra!.url);
      try {
        const channel = await connection.createChannel();
        expect((await channel.checkQueue(deadLetterQueueOf(namespace.queue('tiny-bert')))).messageCount).toBe(0);
      } finally {
        await connection.close();
      }
    });
  });
});
