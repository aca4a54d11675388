import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapacityExceededError, type TaskMessage } from '../../src/domain/index.js';
import type { Delivery, TaskQueue } from '../../src/ports/task-queue.js';
import { waitFor } from '../support/wait.js';

export interface QueueHarness {
  /** A new client of the same broker, as another process would open. */
  connect(): Promise<TaskQueue>;
  /** Most waiting messages per queue, when the adapter is bounded that way in this harness. */
  readonly maxLength?: number;
  /** Priorities served in two classes, 0–4 and 5–9 (RabbitMQ's quorum queues), rather than one by one. */
  readonly priorityClasses?: boolean;
  /**
   * Messages a full queue still takes past `maxLength`: a quorum queue
   * learns it is full from the write that filled it, so it takes one more.
   */
  readonly lengthOvershoot?: number;
  cleanup(): Promise<void>;
}

/** Clients of a harness's broker, as other processes would open them; `closeAll` closes them after each test. */
export function queueClients(harness: () => QueueHarness) {
  const clients: TaskQueue[] = [];
  return {
    connect: async () => {
      const client = await harness().connect();
      clients.push(client);
      return client;
    },
    closeAll: async () => void (await Promise.all(clients.splice(0).map((c) => c.close()))),
  };
}

/** A message for `model` with two texts, at priority 0; `fields` replaces any of it. */
export function taskMessage(model: string, fields: Partial<TaskMessage> = {}): TaskMessage {
  return { taskId: randomUUID(), model, inputs: ['hello', 'world'], priority: 0, enqueuedAt: new Date(), ...fields };
}

/** What every `TaskQueue` adapter promises, run against each one. */
export function taskQueueContract(name: string, makeHarness: () => Promise<QueueHarness>): void {
  describe(`TaskQueue contract: ${name}`, () => {
    let harness: QueueHarness;
    let queue: TaskQueue;
    let model: string;
    const { connect, closeAll } = queueClients(() => harness);
    const message = (fields: Partial<TaskMessage> = {}) => taskMessage(model, { enqueuedAt: new Date('2026-01-02T03:04:05.678Z'), ...fields });
    /** Collects deliveries; settles each with `settle` unless it is left undefined. */
    const collect = async (
      client: TaskQueue,
      settle?: (d: Delivery) => Promise<void>,
      prefetch = 10,
      forModel = model,
    ) => {
      const seen: Delivery[] = [];
      const subscription = await client.consume(
        forModel,
        async (d) => {
          seen.push(d);
          await settle?.(d);
        },
        { prefetch },
      );
      return { seen, subscription };
    };

    beforeEach(async () => {
      harness = await makeHarness();
      queue = await connect();
      model = `contract-${randomUUID()}`;
    });
    afterEach(async () => {
      await closeAll();
      await harness.cleanup();
    });

    it('delivers a published message with every field intact', async () => {
      const sent = message({ priority: 3, inputs: ['ünïcødé ✓', ''.padEnd(1000, 'x')] });
      await queue.publish(sent);
      const { seen } = await collect(queue, (d) => d.ack());
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.message).toEqual(sent);
      expect(seen[0]!.redelivered).toBe(false);
    });

    it('carries a rerank task’s query and cut with its documents', async () => {
      const sent = message({ inputs: ['a document', 'another'], rerank: { query: 'which?', maxDocumentTokens: 8, direction: 'left' } });
      await queue.publish(sent);
      const { seen } = await collect(queue, (d) => d.ack());
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.message).toEqual(sent);
    });

    it('carries how an embedding task cuts its texts and whether it scales its vectors', async () => {
      const sent = message({ truncation: { direction: 'left', truncate: false, maxTokens: 12, windows: { overlap: 3, chunks: true, maxTextTokens: 800, promptLength: 7 } }, normalize: false });
      await queue.publish(sent);
      const { seen } = await collect(queue, (d) => d.ack());
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.message).toEqual(sent);
    });

    it('does not deliver an acknowledged message again', async () => {
      await queue.publish(message());
      const first = await collect(queue, (d) => d.ack());
      await waitFor(() => first.seen.length === 1);
      await first.subscription.cancel();
      const marker = message();
      await queue.publish(marker);
      const second = await collect(await connect(), (d) => d.ack());
      await waitFor(() => second.seen.length >= 1);
      expect(second.seen.map((d) => d.message.taskId)).toEqual([marker.taskId]);
      expect(await queue.depth(model)).toBe(0);
    });

    it('redelivers a message nacked with requeue, marked as redelivered', async () => {
      const sent = message();
      await queue.publish(sent);
      let first = true;
      const { seen } = await collect(queue, async (d) => {
        if (first) {
          first = false;
          await d.requeue();
        } else await d.ack();
      });
      await waitFor(() => seen.length === 2);
      expect(seen[1]!.message).toEqual(sent);
      expect(seen[1]!.redelivered).toBe(true);
    });

    // A requeued message goes back ahead of later ones, so a marker published afterwards comes after any redelivery.
    it('does not deliver a dead-lettered message again', async () => {
      const dropped = message();
      const marker = message();
      await queue.publish(dropped);
      const { seen } = await collect(queue, (d) => (d.message.taskId === dropped.taskId ? d.deadLetter('a test said so') : d.ack()));
      await waitFor(() => seen.length === 1);
      await queue.publish(marker);
      await waitFor(() => seen.some((d) => d.message.taskId === marker.taskId));
      expect(seen.map((d) => d.message.taskId)).toEqual([dropped.taskId, marker.taskId]);
      expect(await queue.depth(model)).toBe(0);
    });

    it('redelivers the message of a handler that throws', async () => {
      const sent = message();
      await queue.publish(sent);
      let calls = 0;
      const { seen } = await collect(queue, async (d) => {
        calls++;
        if (calls === 1) throw new Error('handler failed');
        await d.ack();
      });
      await waitFor(() => seen.length === 2);
      expect(seen[1]!.message.taskId).toBe(sent.taskId);
      expect(seen[1]!.redelivered).toBe(true);
    });

    it('redelivers to another client what a closed client never settled', async () => {
      const sent = message();
      const dying = await connect();
      const { seen: unsettled } = await collect(dying);
      await queue.publish(sent);
      await waitFor(() => unsettled.length === 1);
      await dying.close();

      const survivor = await collect(await connect(), (d) => d.ack());
      await waitFor(() => survivor.seen.length === 1);
      expect(survivor.seen[0]!.message).toEqual(sent);
      expect(survivor.seen[0]!.redelivered).toBe(true);
    });

    // A consumer that took more than its prefetch would leave a later consumer less than the rest.
    it('holds at most `prefetch` unsettled deliveries per consumer', async () => {
      for (let i = 0; i < 5; i++) await queue.publish(message());
      const { seen } = await collect(queue, undefined, 2);
      await waitFor(() => seen.length === 2);
      const other = await collect(await connect(), undefined, 10);
      await waitFor(() => other.seen.length === 3);
      expect(seen).toHaveLength(2);
      await Promise.all(other.seen.map((d) => d.ack()));
      await other.subscription.cancel();
      await queue.publish(message());
      await seen[0]!.ack();
      await waitFor(() => seen.length === 3);
    });

    it('delivers higher priorities first, and equal priorities in publish order', async (ctx) => {
      if (harness.priorityClasses) ctx.skip();
      const low1 = message({ priority: 0 });
      const low2 = message({ priority: 0 });
      const high = message({ priority: 9 });
      const mid = message({ priority: 5 });
      for (const m of [low1, low2, high, mid]) await queue.publish(m);
      await waitFor(async () => (await queue.depth(model)) === 4);
      const { seen } = await collect(queue, (d) => d.ack(), 1);
      await waitFor(() => seen.length === 4);
      expect(seen.map((d) => d.message.taskId)).toEqual([high, mid, low1, low2].map((m) => m.taskId));
    });

    it('delivers a high priority ahead of a backlog of low ones, and the low ones in publish order', async () => {
      // A consumer that holds its first delivery, while a backlog and then a high priority arrive.
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const { seen } = await collect(queue, async (d) => (seen.length === 1 ? held.then(() => d.ack()) : d.ack()), 1);
      const first = message({ priority: 0 });
      await queue.publish(first);
      await waitFor(() => seen.length === 1);
      const backlog = Array.from({ length: 10 }, () => message({ priority: 0 }));
      const high = message({ priority: 9 });
      for (const m of [...backlog, high]) await queue.publish(m);
      release();
      await waitFor(() => seen.length === 12);
      expect(seen.map((d) => d.message.taskId)).toEqual([first, high, ...backlog].map((m) => m.taskId));
    });

    it('keeps each model on its own queue', async () => {
      const otherModel = `contract-${randomUUID()}`;
      await queue.publish(message({ model: otherModel }));
      await queue.publish(message());
      const mine = await collect(queue, (d) => d.ack());
      await waitFor(() => mine.seen.length === 1);
      const marker = message();
      await queue.publish(marker);
      await waitFor(() => mine.seen.length === 2);
      expect(mine.seen.map((d) => d.message.model)).toEqual([model, model]);
      expect(await queue.depth(otherModel)).toBe(1);
      const theirs = await collect(queue, (d) => d.ack(), 10, otherModel);
      await waitFor(() => theirs.seen.length === 1);
    });

    it('keeps the bulk lane apart: only its own consumers get it, depth leaves it out, and its dead letters are the model’s', async () => {
      const bulk = message({ lane: 'bulk', priority: 0 });
      const interactive = message();
      await queue.publish(bulk);
      await queue.publish(interactive);
      await waitFor(async () => (await queue.depth(model)) === 1);
      const fore = await collect(queue, (d) => d.ack());
      await waitFor(() => fore.seen.length === 1);
      expect(fore.seen[0]!.message).toEqual(interactive);

      const seen: Delivery[] = [];
      await queue.consume(model, async (d) => {
        seen.push(d);
        await d.deadLetter('bulk line refused');
      }, { prefetch: 2, lane: 'bulk' });
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.message).toEqual(bulk);
      expect(fore.seen).toHaveLength(1);
      await waitFor(async () => (await queue.stats(model)).deadLettered === 1);
      expect((await queue.deadLetters(model, 10))[0]).toEqual({ reason: 'bulk line refused', message: bulk });

      // Requeued, it goes back to its own lane: the bulk consumer gets it again, the interactive one never does.
      expect(await queue.resolveDeadLetter(model, bulk.taskId, 'requeue')).toBe(true);
      await waitFor(() => seen.length === 2);
      expect(seen[1]!.message).toEqual(bulk);
      expect(fore.seen).toHaveLength(1);
    });

    it('counts waiting messages in depth', async () => {
      expect(await queue.depth(model)).toBe(0);
      for (let i = 0; i < 3; i++) await queue.publish(message());
      await waitFor(async () => (await queue.depth(model)) === 3);
    });

    // While the cancelled consumer is the only one, a message it still took would never reach a later consumer.
    it('stops delivering after cancel', async () => {
      const { seen, subscription } = await collect(queue, (d) => d.ack());
      await subscription.cancel();
      const sent = message();
      await queue.publish(sent);
      await waitFor(async () => (await queue.depth(model)) === 1);
      const later = await collect(await connect(), (d) => d.ack());
      await waitFor(() => later.seen.length === 1);
      expect(later.seen[0]!.message.taskId).toBe(sent.taskId);
      expect(seen).toHaveLength(0);
    });

    it('ignores a second settlement of the same delivery', async () => {
      await queue.publish(message());
      await queue.publish(message());
      const { seen } = await collect(queue, async (d) => {
        await d.ack();
        await d.ack();
        await d.requeue();
        await d.deadLetter('too late');
      });
      await waitFor(() => seen.length === 2);
      const marker = message();
      await queue.publish(marker);
      await waitFor(() => seen.length >= 3);
      expect(seen.map((d) => d.message.taskId).at(-1)).toBe(marker.taskId);
      expect(seen).toHaveLength(3);
      expect(seen.every((d) => !d.redelivered)).toBe(true);
    });

    it('shows waiting messages, consumers and dead letters in its stats, and lists dead letters without moving them', async () => {
      const [bad, worse] = [message(), message()];
      await queue.publish(bad);
      await queue.publish(worse);
      await queue.publish(message());
      const { seen, subscription } = await collect(queue, async (d) => {
        if (d.message.taskId === bad.taskId) await d.deadLetter('breaks the limits');
        else if (d.message.taskId === worse.taskId) await d.deadLetter('no task record');
        else await d.ack();
      });
      await waitFor(() => seen.length === 3);
      await waitFor(async () => (await queue.stats(model)).deadLettered === 2);
      expect(await queue.stats(model)).toEqual({ ready: 0, consumers: 1, deadLettered: 2 });
      await subscription.cancel();
      await waitFor(async () => (await queue.stats(model)).consumers === 0);

      const letters = await queue.deadLetters(model, 10);
      expect(letters).toEqual([
        { reason: 'breaks the limits', message: bad },
        { reason: 'no task record', message: worse },
      ]);
      expect(await queue.deadLetters(model, 1)).toEqual([letters[0]]);
      // Looking moved nothing.
      expect((await queue.stats(model)).deadLettered).toBe(2);
    });

    it('requeues a dead letter to its model’s queue, or discards it, and says when there is none', async () => {
      const [back, gone] = [message(), message()];
      await queue.publish(back);
      await queue.publish(gone);
      const first = await collect(queue, (d) => d.deadLetter('for the operator'));
      await waitFor(() => first.seen.length === 2);
      await first.subscription.cancel();
      await waitFor(async () => (await queue.stats(model)).deadLettered === 2);

      expect(await queue.resolveDeadLetter(model, gone.taskId, 'discard')).toBe(true);
      expect(await queue.resolveDeadLetter(model, back.taskId, 'requeue')).toBe(true);
      expect(await queue.resolveDeadLetter(model, gone.taskId, 'requeue')).toBe(false);
      expect(await queue.stats(model)).toMatchObject({ ready: 1, deadLettered: 0 });

      const again = await collect(queue, (d) => d.ack());
      await waitFor(() => again.seen.length === 1);
      expect(again.seen[0]!.message).toEqual(back);
    });

    it('answers ping while open', async () => {
      await expect(queue.ping()).resolves.toBeUndefined();
    });

    it('refuses to publish beyond the queue length, enqueuing nothing', async (ctx) => {
      if (harness.maxLength === undefined) ctx.skip();
      const max = harness.maxLength! + (harness.lengthOvershoot ?? 0);
      for (let i = 0; i < max; i++) await queue.publish(message());
      await expect(queue.publish(message())).rejects.toBeInstanceOf(CapacityExceededError);
      await waitFor(async () => (await queue.depth(model)) === max);
    });
  });
}
