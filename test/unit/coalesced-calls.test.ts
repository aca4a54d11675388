import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoalescedCalls } from '../../src/application/tasks/coalesced-calls.js';
import { CapacityExceededError, type TaskMessage } from '../../src/domain/index.js';
import type { CallAnswer, TaskCaller } from '../../src/ports/task-caller.js';
import { stubWorker } from '../support/stub-worker.js';

/** The stub worker's limit on a message's inputs, and so the coalescer's bound on a joint message. */
const MAX_INPUTS = 4;

/*
 * The coalescer in front of a real worker on the in-memory queue, with the
 * stub model: each text's vector is [its length, its first char code], and
 * a batch holding "boom" fails.
 */
function setup() {
  const worker = stubWorker();
  // What reached the queue, in order.
  const sent: TaskMessage[] = [];
  const recording: TaskCaller = {
    call: (message, signal) => {
      sent.push(message);
      return worker.queue.call(message, signal);
    },
  };
  let n = 0;
  const coalesced = new CoalescedCalls(recording, { next: () => `joint${n++}` }, { maxInputs: MAX_INPUTS });
  let m = 0;
  const message = (inputs: string[], extra: Partial<TaskMessage> = {}): TaskMessage => ({
    taskId: `t${m++}`,
    model: 'stub',
    inputs,
    priority: 0,
    enqueuedAt: new Date(),
    deadline: new Date(Date.now() + 10_000),
    ...extra,
  });
  const call = (inputs: string[], extra: Partial<TaskMessage> = {}, signal = new AbortController().signal) => coalesced.call(message(inputs, extra), signal);
  return { ...worker, sent, coalesced, call, message };
}

const vectorsOf = (answer: CallAnswer) => (answer.ok ? answer.result.vectors.map((v) => Array.from(v)) : answer.failure.reason);

describe('CoalescedCalls', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(async () => {
    t = setup();
    await t.worker.start();
  });
  afterEach(async () => {
    await t.worker.stop();
  });

  it('sends the calls of one turn with the same options as one message, and gives each caller its own rows, counts and usage', async () => {
    // The first leaves at once, nothing like it being on the way; those that come while it is unanswered travel together.
    const answers = await Promise.all([t.call(['lead']), t.call(['abc']), t.call(['de', 'f']), t.call(['ghij'])]);
    expect(t.sent.map((m) => [m.taskId, m.calls, m.inputs])).toEqual([
      ['t0', undefined, ['lead']],
      ['joint0', 3, ['abc', 'de', 'f', 'ghij']],
    ]);
    expect(answers.map(vectorsOf)).toEqual([[[4, 108]], [[3, 97]], [[2, 100], [1, 102]], [[4, 103]]]);
    expect(answers.slice(1).map((a) => a.ok && [a.result.tokenCounts, a.result.usage.promptTokens])).toEqual([
      [[3], 3],
      [[2, 1], 3],
      [[4], 4],
    ]);
    // The worker counts each caller's request as a task of its own, as the API counted it sent.
    expect(t.metrics.summary('task_seconds{model=stub,outcome=succeeded}').count).toBe(4);
  });

  it('sends a call at once while none like it is unanswered, so that a lone caller never waits for the turn to end', async () => {
    const first = t.call(['first']);
    // Sent before this turn ends: nothing was waiting to join it.
    expect(t.sent.map((m) => m.inputs)).toEqual([['first']]);
    await first;
    const second = t.call(['second']);
    expect(t.sent.map((m) => m.inputs)).toEqual([['first'], ['second']]);
    await second;
  });

  it('sends a lone call as it is, and calls of another turn, another model or other options apart', async () => {
    const alone = t.message(['solo']);
    await t.coalesced.call(alone, new AbortController().signal);
    expect(t.sent).toEqual([alone]);
    t.sent.length = 0;
    const answers = await Promise.all([
      t.call(['plain']),
      t.call(['raw'], { normalize: false }),
      t.call(['cut'], { truncation: { maxTokens: 2 } }),
      t.call(['query'], { rerank: { query: 'q' } }),
      t.call(['long'], { truncation: { windows: { overlap: 0, chunks: false, maxTextTokens: 100 } } }),
      t.call(['later'], { priority: 5 }),
    ]);
    expect(t.sent.map((m) => [m.inputs[0], m.calls]).sort()).toEqual(['cut', 'later', 'long', 'plain', 'query', 'raw'].map((text) => [text, undefined]));
    expect(answers.filter((a) => a.ok)).toHaveLength(5); // the rerank call reached an embedding model: its own failure
  });

  it('never puts more inputs in a message than a worker takes: a full message leaves, and the next begins', async () => {
    const answers = await Promise.all([t.call(['x']), t.call(['a', 'b']), t.call(['c']), t.call(['d', 'e']), t.call(['f', 'g', 'h', 'i'])]);
    // A call as large as a message travels as it is, at once; the others at the end of the turn.
    expect(t.sent.map((m) => m.inputs)).toEqual([['x'], ['a', 'b', 'c'], ['f', 'g', 'h', 'i'], ['d', 'e']]);
    expect(answers.slice(1).map(vectorsOf)).toEqual([[[1, 97], [1, 98]], [[1, 99]], [[1, 100], [1, 101]], [[1, 102], [1, 103], [1, 104], [1, 105]]]);
  });

  it('when a joint message fails, sends each caller alone: only the caller whose input broke the model fails, after its own attempts', async () => {
    const answers = await Promise.all([t.call(['lead']), t.call(['fine']), t.call(['boom']), t.call(['also fine'])]);
    expect(answers.slice(1).map(vectorsOf)).toEqual([[[4, 102]], 'stub model cannot embed "boom"', [[9, 97]]]);
    expect(t.sent.map((m) => [m.inputs, m.calls])).toEqual([
      [['lead'], undefined],
      [['fine', 'boom', 'also fine'], 3],
      [['fine'], undefined],
      [['boom'], undefined],
      [['also fine'], undefined],
    ]);
    // The joint message was tried once and neither counted nor dead-lettered; the lone "boom" had its three attempts.
    expect(t.broker.deadLetters('stub').map((d) => [d.message.inputs, d.message.attempts])).toEqual([[['boom'], 2]]);
    expect(t.metrics.summary('task_seconds{model=stub,outcome=succeeded}').count).toBe(3);
    expect(t.metrics.summary('task_seconds{model=stub,outcome=failed}').count).toBe(1);
    expect(t.logs.lines.filter((l) => String(l.msg).startsWith('joint call failed')).map((l) => l.calls)).toEqual([3]);
  });

  it('rejects every caller with the error of a message the queue refused', async () => {
    const refusing = new CoalescedCalls({ call: async () => Promise.reject(new CapacityExceededError('full', 1)) }, { next: () => 'j' }, { maxInputs: 8 });
    const signal = new AbortController().signal;
    const results = await Promise.allSettled(['lead', 'a', 'b'].map((text) => refusing.call(t.message([text]), signal)));
    expect(results.map((r) => r.status === 'rejected' && r.reason instanceof CapacityExceededError)).toEqual([true, true, true]);
  });

  it('lets a caller stop waiting at once; the others are answered, and the message is given up only when all have gone', async () => {
    const held = new Map<string, AbortSignal>();
    const pending = new CoalescedCalls({ call: (message, signal) => (held.set(message.taskId, signal), new Promise(() => undefined)) }, { next: () => 'joint' }, { maxInputs: 8 });
    const [first, second] = [new AbortController(), new AbortController()];
    const lead = t.message(['lead']);
    void pending.call(lead, new AbortController().signal);
    const calls = [pending.call(t.message(['a']), first.signal), pending.call(t.message(['b']), second.signal)];
    await new Promise((resolve) => setImmediate(resolve));
    first.abort(new Error('first went away'));
    await expect(calls[0]).rejects.toThrow('first went away');
    expect(held.get('joint')!.aborted).toBe(false);
    second.abort(new Error('second went away'));
    await expect(calls[1]).rejects.toThrow('second went away');
    expect(held.get('joint')!.aborted).toBe(true);

    // A caller gone before its turn ended is not sent at all.
    const gone = new AbortController();
    const early = pending.call(t.message(['early']), gone.signal);
    gone.abort(new Error('gone'));
    await expect(early).rejects.toThrow('gone');
    await new Promise((resolve) => setImmediate(resolve));
    expect([...held.keys()]).toEqual([lead.taskId, 'joint']);
  });

  it('answers the callers of a joint message through the real queue and worker: their vectors are those each would get alone', async () => {
    const texts = ['one', 'two', 'three', 'four'];
    const together = await Promise.all(texts.map((text) => t.call([text])));
    const alone: CallAnswer[] = [];
    for (const text of texts) alone.push(await t.call([text]));
    expect(together.map(vectorsOf)).toEqual(alone.map(vectorsOf));
  });
});
