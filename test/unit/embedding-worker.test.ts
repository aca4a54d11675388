import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newTask, RERANK_ROW, relevanceScore, ServiceUnavailableError, toMessage } from '../../src/domain/index.js';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { writeCrossEncoderFolder } from '../support/bert-fixture.js';
import { stubWorker } from '../support/stub-worker.js';
import { waitFor } from '../support/wait.js';

/** Attempts a task may have, as the worker passes them. */
const MAX_ATTEMPTS = 3;

describe('EmbeddingWorker', () => {
  let t: ReturnType<typeof stubWorker>;
  beforeEach(() => {
    t = stubWorker();
  });
  afterEach(async () => {
    await t.worker.stop();
  });

  it('stores results; retries a task whose model errors, then fails it with the reason and dead-letters it; goes on', async () => {
    await t.worker.start();
    const good = await t.submit(['abc', 'de']);
    const bad = await t.submit(['fine', 'boom']);
    const after = await t.submit(['xyz']);

    const done = await t.settled(good);
    expect(done.status).toBe('succeeded');
    expect(t.metrics.summary('task_seconds{model=stub,outcome=succeeded}').count).toBeGreaterThanOrEqual(1);
    expect(done.result!.vectors.map((v) => Array.from(v))).toEqual([[3, 97], [2, 100]]);
    expect(done.result!.usage.promptTokens).toBe(5);

    expect(await t.settled(bad)).toMatchObject({ status: 'failed', error: 'stub model cannot embed "boom"', attempts: 3 });
    expect(t.broker.deadLetters('stub').map((d) => [d.message.taskId, d.reason])).toEqual([[bad, 'stub model cannot embed "boom"']]);
    expect(t.metrics.counter('messages_dead_lettered{model=stub,kind=inference_failed}')).toBe(1);
    expect((await t.settled(after)).status).toBe('succeeded');
    // Every message was settled: nothing waits, nothing will be redelivered.
    expect(await t.queue.depth('stub')).toBe(0);
    expect(t.metrics.summary('task_seconds{model=stub,outcome=failed}').count).toBe(1);
    expect(t.metrics.summary('task_seconds{model=stub,outcome=succeeded}').count).toBe(2);
    expect(t.logs.lines.filter((l) => l.msg === 'task failed').map((l) => l.taskId)).toEqual([bad]);
    expect(t.logs.lines.filter((l) => l.msg === 'attempt failed; requeueing').map((l) => l.attempt)).toEqual([1, 2]);
  });

  it('acknowledges a redelivered task that already finished without running the model again', async () => {
    const id = await t.submit(['once']);
    const sent = toMessage((await t.store.get(id))!);
    await t.worker.start();
    await t.settled(id);
    expect(t.model.calls).toBe(1);
    const stored = (await t.store.get(id))!;
    // The broker delivers the same message again, as after a worker crash between store and ack.
    await t.queue.publish(sent);
    await waitFor(async () => (await t.queue.depth('stub')) === 0);
    await waitFor(() => t.logs.lines.some((l) => l.taskId === id && l.msg === 'task is already final; acknowledging its message'));
    expect(t.model.calls).toBe(1);
    expect(await t.store.get(id)).toEqual(stored);
  });

  it('announces again a task it finds already finished: the worker that finished it may have died before announcing it', async () => {
    const id = await t.submit(['finished, never told']);
    const sent = toMessage((await t.store.get(id))!);
    // Another worker stored the result, then died before its announcement and its ack.
    await t.store.markRunning(id, new Date(), MAX_ATTEMPTS);
    await t.store.markSucceeded(id, { vectors: [new Float32Array([1, 2])], dimensions: 2, usage: { promptTokens: 3, totalTokens: 3 } }, new Date());
    const watch = t.events.watch(id);
    await t.worker.start();
    await t.queue.publish(sent);
    await expect(Promise.race([watch.finished.then(() => 'announced'), new Promise((resolve) => setTimeout(() => resolve('silent'), 2_000))])).resolves.toBe('announced');
    watch.cancel();
    expect(t.model.calls).toBe(0);
  });

  it('fails and dead-letters a task whose workers kept dying on it, without running it again', async () => {
    const id = await t.submit(['poison']);
    // Three earlier workers started it and crashed before settling.
    for (let i = 0; i < 3; i++) await t.store.markRunning(id, new Date(Date.now() - 1_000 + i), MAX_ATTEMPTS);
    await t.worker.start();
    // Its attempts never pass the limit: the fourth start is refused, and the task failed.
    expect(await t.settled(id)).toMatchObject({ status: 'failed', error: 'gave up after 3 attempts', attempts: 3 });
    expect(t.model.calls).toBe(0);
    expect(t.broker.deadLetters('stub').map((d) => [d.message.taskId, d.reason])).toEqual([[id, 'gave up after 3 attempts']]);
  });

  it('acknowledges, without failing or dead-lettering, a stale message whose task another delivery finished meanwhile', async () => {
    const id = await t.submit(['finished elsewhere']);
    for (let i = 0; i < 3; i++) await t.store.markRunning(id, new Date(Date.now() - 1_000 + i), MAX_ATTEMPTS);
    // As this worker gives the task up, another delivery's result lands first.
    const markFailed = t.store.markFailed.bind(t.store);
    t.store.markFailed = async (taskId, failure, at) => {
      await t.store.markSucceeded(taskId, { vectors: [new Float32Array([1])], dimensions: 1, usage: { promptTokens: 1, totalTokens: 1 } }, at);
      return markFailed(taskId, failure, at);
    };
    await t.worker.start();
    await waitFor(() => t.logs.lines.some((l) => l.taskId === id && l.msg === 'task had already ended; acknowledging a stale message'));
    expect(await t.store.get(id)).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(t.broker.deadLetters('stub')).toEqual([]);
    expect(t.logs.lines.some((l) => l.taskId === id && l.msg === 'task failed')).toBe(false);
    expect(t.metrics.counter('task_transitions_refused_total{model=stub,transition=fail}')).toBe(1);
    await waitFor(async () => (await t.queue.depth('stub')) === 0);
  });

  it('does not run a task whose deadline has passed: it marks it expired and acknowledges its message', async () => {
    const task = newTask({ id: 'late', model: 'stub', inputs: ['x'], priority: 0, now: new Date(), deadline: new Date(Date.now() - 1) });
    await t.store.create(task);
    await t.queue.publish(toMessage(task));
    const onTime = await t.submit(['on time']);
    await t.worker.start();
    expect(await t.settled('late')).toMatchObject({ status: 'expired', attempts: 0, inputs: [] });
    expect(await t.settled(onTime)).toMatchObject({ status: 'succeeded' });
    expect(t.model.batches.flat()).toEqual(['on time']);
    expect(t.broker.deadLetters('stub')).toEqual([]);
    expect(await t.queue.depth('stub')).toBe(0);
    expect(t.metrics.summary('task_seconds{model=stub,outcome=expired}').count).toBe(1);
  });

  it('dead-letters, never acknowledges away, a message whose task record has expired', async () => {
    await t.worker.start();
    await t.queue.publish({ taskId: 'ghost', model: 'stub', inputs: ['x'], priority: 0, enqueuedAt: new Date() });
    await waitFor(() => t.broker.deadLetters('stub').length === 1);
    expect(t.broker.deadLetters('stub')[0]).toMatchObject({ message: { taskId: 'ghost' }, reason: expect.stringMatching(/^no task record/) });
    expect(t.metrics.counter('messages_dead_lettered{model=stub,kind=no_record}')).toBe(1);
    expect(await t.queue.depth('stub')).toBe(0);
    expect(t.model.calls).toBe(0);
  });

  it('dead-letters a message that disagrees with its task record, and leaves the task to its own message', async () => {
    const id = await t.submit(['the real input']);
    // A stray message for the same task, asking for other work.
    await t.queue.publish({ taskId: id, model: 'stub', inputs: ['something else'], priority: 9, enqueuedAt: new Date() });
    await t.worker.start();
    expect(await t.settled(id)).toMatchObject({ status: 'succeeded' });
    expect(Array.from((await t.store.get(id))!.result!.vectors[0]!)).toEqual([14, 't'.charCodeAt(0)]);
    expect(t.broker.deadLetters('stub').map((d) => d.reason)).toEqual(['the message disagrees with its task record (model or inputs)']);
    expect(t.model.batches.flat()).not.toContain('something else');
  });

  it('does not embed a message that breaks the limits: it dead-letters it, and fails its task when it is the task’s own', async () => {
    // Stored and sent with more inputs than the worker's limits (4), as when the API's limits were set higher.
    const tooMany = await t.submit(['a', 'b', 'c', 'd', 'e']);
    // A forged message with a text over 20 characters, for a task whose record says otherwise.
    const innocent = await t.submit(['short']);
    await t.queue.publish({ taskId: innocent, model: 'stub', inputs: ['x'.repeat(21)], priority: 9, enqueuedAt: new Date() });
    await t.worker.start();
    expect(await t.settled(tooMany)).toMatchObject({ status: 'failed', failure: 'invalid_input' });
    expect(await t.settled(innocent)).toMatchObject({ status: 'succeeded' });
    const reasons = t.broker.deadLetters('stub').map((d) => d.reason);
    expect(reasons).toHaveLength(2);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^breaks the input limits: input holds 5 texts/),
        expect.stringMatching(/^breaks the input limits: A text is longer than 20/),
      ]),
    );
    expect(t.metrics.counter('messages_dead_lettered{model=stub,kind=breaks_limits}')).toBe(2);
    expect(t.model.batches.flat()).toEqual(['short']);
  });

  describe('while the store is stalled', () => {
    /**
     * The store stalls as Redis does: a command gets no answer (it fails, as a
     * timed-out command does) but is carried out once the store answers again,
     * in the order it was sent, before anything sent later.
     */
    const stallStore = () => {
      let stalled = true;
      const landing: (() => Promise<unknown>)[] = [];
      for (const name of ['get', 'markRunning', 'markSucceeded', 'markFailed'] as const) {
        const original = (t.store[name] as (...args: unknown[]) => Promise<unknown>).bind(t.store);
        (t.store as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
          if (!stalled) return original(...args);
          landing.push(() => original(...args));
          await new Promise((resolve) => setTimeout(resolve, 5));
          throw new ServiceUnavailableError('Redis is unavailable: Command timed out');
        };
      }
      return {
        landing,
        resume: async () => {
          for (const land of landing.splice(0)) await land();
          stalled = false;
        },
      };
    };

    it('holds its deliveries and repeats the same start until the store answers: a stall of any length costs one attempt', async () => {
      const ids = [await t.submit(['first']), await t.submit(['second'])];
      const store = stallStore();
      await t.worker.start();
      // Far more tries than the task has attempts (3): each lands, late, when the store answers again.
      await waitFor(() => store.landing.length >= 10, 5_000, 'the worker to keep trying');
      expect(t.model.calls).toBe(0);
      await store.resume();
      for (const id of ids) expect(await t.settled(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(t.broker.deadLetters('stub')).toEqual([]);
      const held = t.logs.lines.filter((l) => l.msg === 'the store is unavailable; holding the task until it answers');
      expect(held.map((l) => l.taskId).sort()).toEqual([...ids].sort());
    });

    it('finishes a task whose result could not be stored, counted once, without running it again', async () => {
      await t.worker.start();
      let store: ReturnType<typeof stallStore> | undefined;
      const markSucceeded = t.store.markSucceeded.bind(t.store);
      // The store stalls between the start and the result.
      t.store.markSucceeded = (...args) => {
        t.store.markSucceeded = markSucceeded;
        store = stallStore();
        return t.store.markSucceeded(...args);
      };
      const id = await t.submit(['once']);
      await waitFor(() => (store?.landing.length ?? 0) >= 3, 5_000, 'the result to be tried again');
      await store!.resume();
      expect(await t.settled(id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(t.model.calls).toBe(1);
      // The worker's own repeat, after the late write landed, finds its own result: counted once, as its.
      await waitFor(() => t.metrics.summary('task_seconds{model=stub,outcome=succeeded}').count === 1, 5_000, 'the success to be counted');
      await waitFor(async () => (await t.queue.depth('stub')) === 0 && t.logs.lines.some((l) => l.taskId === id && l.msg === 'task succeeded'));
      expect(t.metrics.counter('task_transitions_refused_total{model=stub,transition=complete}')).toBe(0);
    });

    it('requeues what it holds when it stops, promptly, rather than waiting on', async () => {
      const id = await t.submit(['held']);
      const store = stallStore();
      await t.worker.start();
      await waitFor(() => store.landing.length >= 1, 5_000, 'the worker to try');
      const started = performance.now();
      await t.worker.stop();
      expect(performance.now() - started).toBeLessThan(1_000);
      await waitFor(async () => (await t.queue.depth('stub')) === 1, 1_000, 'the held delivery to be requeued');
      expect(t.broker.deadLetters('stub')).toEqual([]);
      await store.resume();
      expect((await t.store.get(id))!.status).toBe('running');
    });
  });

  describe('with a reranker', () => {
    let reranker: OnnxReranker;
    let dir: string;
    beforeEach(async () => {
      await t.worker.stop();
      dir = await mkdtemp(join(tmpdir(), 'worker-reranker-'));
      reranker = await OnnxReranker.load({ id: 'ranker', path: await writeCrossEncoderFolder(join(dir, 'ranker'), { maxLength: 32 }), intraOpThreads: 1 });
      t = stubWorker(new Map([['ranker', reranker]]));
    });
    afterEach(async () => {
      await t.worker.stop();
      await reranker.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('scores each document against the task’s query, in order, as the model scores the pair alone: [score, logit] per document', async () => {
      await t.worker.start();
      // Within the worker's input limits (4 inputs of 20 characters); each document cut to 3 tokens at most.
      const documents = ['cats purr and nap', 'bananas', 'unrelated ramble'];
      const rerank = { query: 'cats', maxDocumentTokens: 3 };
      const id = await t.submit(documents, { model: 'ranker', rerank });
      const done = await t.settled(id);
      expect(done.error).toBeUndefined();
      expect(done).toMatchObject({ status: 'succeeded', rerank });
      const alone = await reranker.scoreTokenized(await reranker.tokenizePairs('cats', documents, rerank));
      done.result!.vectors.forEach((row, i) => {
        expect(row[RERANK_ROW.logit]).toBeCloseTo(alone[i]![0]!, 4);
        expect(row[RERANK_ROW.score]).toBeCloseTo(relevanceScore(alone[i]!), 5);
      });
      const pairs = await reranker.tokenizePairs('cats', documents, rerank);
      expect(done.result!.tokenCounts).toEqual(pairs.map((p) => p.ids.length));
    });

    it('fails, as the client’s fault, a rerank task sent to an embedding model and a task without a query sent to a reranker', async () => {
      await t.worker.start();
      const misrouted = await t.submit(['a document'], { rerank: { query: 'q' } });
      const queryless = await t.submit(['a document'], { model: 'ranker' });
      expect(await t.settled(misrouted)).toMatchObject({ status: 'failed', failure: 'invalid_input', error: "Model 'stub' makes embeddings; it cannot rerank." });
      expect(await t.settled(queryless)).toMatchObject({ status: 'failed', failure: 'invalid_input', error: "Model 'ranker' is a reranker; a task for it needs a query." });
    });
  });
});
