import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapacityExceededError, type EmbeddingResult, type TaskMessage } from '../../src/domain/index.js';
import type { CallAnswer, Delivery, TaskQueue } from '../../src/ports/task-queue.js';
import { waitFor } from '../support/wait.js';
import { queueClients, taskMessage, type QueueHarness } from './task-queue.contract.js';

const RESULT: EmbeddingResult = {
  vectors: [Float32Array.from([0.1, -2.5, 3e-8]), Float32Array.from([1, 0, -1])],
  dimensions: 3,
  usage: { promptTokens: 7, totalTokens: 7 },
  tokenCounts: [3, 4],
  tokenizationMs: 0.25,
  droppedTokens: [0, 2],
  chunks: [[{ vector: Float32Array.from([0.5, 0.25, 0.125]), span: { start: 0, end: 5 }, tokens: 3 }], [{ vector: Float32Array.from([1, 2, 3]), tokens: 4 }]],
};
const ANSWER: CallAnswer = { ok: true, result: RESULT, startedAt: new Date('2026-01-02T03:04:05.100Z'), finishedAt: new Date('2026-01-02T03:04:05.123Z') };

/** What every `TaskCaller` adapter promises (a `TaskQueue` is one), run against each one. */
export function taskCallerContract(name: string, makeHarness: () => Promise<QueueHarness>): void {
  describe(`TaskCaller contract: ${name}`, () => {
    let harness: QueueHarness;
    let api: TaskQueue;
    let worker: TaskQueue;
    let model: string;
    const { connect, closeAll } = queueClients(() => harness);
    const message = (fields: Partial<TaskMessage> = {}) => taskMessage(model, { deadline: new Date(Date.now() + 30_000), ...fields });
    const serve = async (client: TaskQueue, handle: (d: Delivery) => Promise<void>, prefetch = 10) => {
      const seen: Delivery[] = [];
      await client.consume(model, async (d) => (seen.push(d), handle(d)), { prefetch });
      return seen;
    };
    const answerAndAck = async (d: Delivery) => {
      await d.call!.answer(ANSWER);
      await d.ack();
    };

    beforeEach(async () => {
      harness = await makeHarness();
      api = await connect();
      worker = await connect();
      model = `call-${randomUUID()}`;
    });
    afterEach(async () => {
      await closeAll();
      await harness.cleanup();
    });

    it('delivers a call with every field intact, and brings its answer back whole: vectors, counts, chunks and times', async () => {
      const seen = await serve(worker, answerAndAck);
      const sent = message({ priority: 4, inputs: ['ünïcødé ✓', [101, 7, 102]] });
      const answer = await api.call(sent, AbortSignal.timeout(10_000));
      expect(seen).toHaveLength(1);
      expect(seen[0]!.message).toEqual(sent);
      expect(seen[0]!.redelivered).toBe(false);
      expect(seen[0]!.call).toBeDefined();
      expect(answer).toEqual(ANSWER);
    });

    it('brings back a failure as it was sent', async () => {
      const failure = { reason: 'cannot embed', kind: 'invalid_input' as const, issues: [{ path: 'input[1]', message: 'empty' }] };
      await serve(worker, async (d) => {
        await d.call!.answer({ ok: false, failure });
        await d.deadLetter('cannot embed');
      });
      expect(await api.call(message(), AbortSignal.timeout(10_000))).toEqual({ ok: false, failure });
    });

    it('gives a published task no call: only a call has someone to answer', async () => {
      const seen = await serve(worker, (d) => d.ack());
      await api.publish(message());
      await waitFor(() => seen.length === 1);
      expect(seen[0]!.call).toBeUndefined();
    });

    it('answers each caller its own answer, and only the first of two answers to one call', async () => {
      await serve(worker, async (d) => {
        const own: CallAnswer = { ...ANSWER, result: { ...RESULT, usage: { promptTokens: d.message.inputs.length, totalTokens: 0 } } } as CallAnswer;
        await d.call!.answer(own);
        await d.call!.answer(ANSWER);
        await d.ack();
      });
      const answers = await Promise.all([1, 2, 3].map((n) => api.call(message({ inputs: Array.from({ length: n }, () => 'x') }), AbortSignal.timeout(10_000))));
      expect(answers.map((a) => (a.ok ? a.result.usage.promptTokens : -1))).toEqual([1, 2, 3]);
    });

    it('retries a call as a copy with one more attempt, answered to the same caller', async () => {
      const seen = await serve(worker, async (d) => {
        if ((d.message.attempts ?? 0) < 2) await d.call!.retry();
        else await answerAndAck(d);
      });
      expect(await api.call(message(), AbortSignal.timeout(10_000))).toEqual(ANSWER);
      expect(seen.map((d) => d.message.attempts ?? 0)).toEqual([0, 1, 2]);
      expect(seen.every((d) => !d.redelivered)).toBe(true);
    });

    it('redelivers a call whose worker went away unanswered, and the caller still gets its answer', async () => {
      const dying = await connect();
      const held = await serve(dying, async () => undefined);
      const answer = api.call(message(), AbortSignal.timeout(10_000));
      await waitFor(() => held.length === 1);
      await dying.close();
      const seen = await serve(worker, answerAndAck);
      expect(await answer).toEqual(ANSWER);
      expect(seen[0]!.redelivered).toBe(true);
      expect(seen[0]!.call).toBeDefined();
    });

    it('stops waiting at once when the signal aborts, with its reason; a later answer is dropped', async () => {
      const held: Delivery[] = [];
      await serve(worker, async (d) => (held.length === 0 ? void held.push(d) : answerAndAck(d)));
      const leaving = new AbortController();
      const call = api.call(message(), leaving.signal);
      await waitFor(() => held.length === 1);
      const reason = new Error('gone');
      leaving.abort(reason);
      await expect(call).rejects.toBe(reason);
      await answerAndAck(held[0]!);
      // The caller's client still serves the next call.
      expect(await api.call(message(), AbortSignal.timeout(10_000))).toEqual(ANSWER);
    });

    it('refuses a call at once when its queue is full, sending nothing', async (ctx) => {
      if (harness.maxLength === undefined) ctx.skip();
      const giveUp = new AbortController();
      // Nobody consumes: each call waits in the queue until the test gives up on it.
      const max = harness.maxLength! + (harness.lengthOvershoot ?? 0);
      const waiting = Array.from({ length: max }, () => api.call(message(), giveUp.signal).catch(() => undefined));
      await waitFor(async () => (await api.depth(model)) === max);
      await expect(api.call(message(), AbortSignal.timeout(10_000))).rejects.toBeInstanceOf(CapacityExceededError);
      expect(await api.depth(model)).toBe(max);
      giveUp.abort();
      await Promise.all(waiting);
    });
  });
}
