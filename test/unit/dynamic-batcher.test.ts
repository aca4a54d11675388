import { afterEach, describe, expect, it, vi } from 'vitest';
import { DynamicBatcher, type BatchingOptions, type BatchReport } from '../../src/application/worker/dynamic-batcher.js';
import { requireEmbeddable, ValidationError, type Lane, type TextInput } from '../../src/domain/index.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';
import { gatedModel, StubModel } from '../support/stub-model.js';

const options = (o: Partial<BatchingOptions> = {}): BatchingOptions => ({
  maxBatchSize: 8,
  maxBatchTokens: 1_000,
  lingerMs: 1,
  mergeTasks: true,
  maxBulkBatchSize: 4,
  ...o,
});

/** A batcher over `model`, and how a worker hands it texts: tokenized on arrival. */
function embedder(model: EmbeddingModel, o: Partial<BatchingOptions> = {}, onBatch?: (report: BatchReport) => void) {
  const batcher = new DynamicBatcher((batch) => model.embedTokenized(batch), options(o), onBatch);
  return {
    embed: async (inputs: readonly TextInput[], lane?: Lane, priority?: number) => {
      requireEmbeddable(inputs);
      return batcher.run(await model.tokenize(inputs), { lane, priority });
    },
  };
}

function setup(o: Partial<BatchingOptions> = {}) {
  const model = new StubModel();
  const reports: BatchReport[] = [];
  const batcher = embedder(model, o, (r) => reports.push(r));
  return { model, batcher, reports };
}

describe('DynamicBatcher', () => {
  it('merges concurrent single-text tasks into shared inferences, each answered with its own vector', async () => {
    const { model, batcher, reports } = setup();
    const texts = Array.from({ length: 16 }, (_, i) => `text number ${i}`);
    const results = await Promise.all(texts.map((t) => batcher.embed([t])));
    expect(model.calls).toBe(2);
    expect(reports.map((r) => r.tasks)).toEqual([8, 8]);
    results.forEach((r, i) => {
      expect(Array.from(r.vectors[0]!)).toEqual([texts[i]!.length, texts[i]!.charCodeAt(0)]);
      expect(r.tokenCounts).toEqual([texts[i]!.length]);
    });
  });

  it('keeps every batch within the size cap and the padded-token budget', async () => {
    const { model, batcher } = setup({ maxBatchSize: 4, maxBatchTokens: 60 });
    const lengths = [3, 50, 7, 20, 20, 20, 5, 30, 11, 2];
    await Promise.all(lengths.map((n) => batcher.embed(['x'.repeat(n)])));
    for (const batch of model.batches) {
      expect(batch.length).toBeLessThanOrEqual(4);
      const longest = Math.max(...batch.map((t) => t.length));
      // A text longer than the budget alone still runs, alone.
      if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(60);
    }
    expect(model.batches.flat().sort()).toEqual(lengths.map((n) => 'x'.repeat(n)).sort());
  });

  it('sorts waiting texts by length so that short ones are not padded to long ones', async () => {
    const { model, batcher } = setup({ maxBatchSize: 4 });
    const lengths = [40, 2, 41, 3, 42, 4, 43, 5];
    await Promise.all(lengths.map((n) => batcher.embed(['y'.repeat(n)])));
    expect(model.batches.map((b) => b.map((t) => t.length))).toEqual([
      [2, 3, 4, 5],
      [40, 41, 42, 43],
    ]);
  });

  it('does not pad short texts to a long one far more than twice their length', async () => {
    const { model, batcher } = setup({ maxBatchSize: 8 });
    const lengths = [10, 12, 11, 60, 10, 55, 21, 22, 40];
    await Promise.all(lengths.map((n) => batcher.embed(['z'.repeat(n)])));
    expect(model.batches.map((b) => b.map((t) => t.length))).toEqual([
      [10, 10, 11, 12, 21, 22],
      [40, 55, 60],
    ]);
  });

  it('splits a large task across batches and reassembles it in order', async () => {
    const { model, batcher } = setup({ maxBatchSize: 4 });
    const texts = Array.from({ length: 10 }, (_, i) => String.fromCharCode(65 + i).repeat(1 + (i % 3)));
    const result = await batcher.embed(texts);
    expect(model.calls).toBeGreaterThanOrEqual(3);
    expect(result.vectors.map((v) => v[1])).toEqual(texts.map((t) => t.charCodeAt(0)));
    expect(result.tokenCounts).toEqual(texts.map((t) => t.length));
  });

  it('runs each task alone when merging is off', async () => {
    const { model, batcher } = setup({ mergeTasks: false });
    await Promise.all([batcher.embed(['a1', 'a2']), batcher.embed(['b1']), batcher.embed(['c1', 'c2', 'c3'])]);
    expect(model.batches).toEqual([['a1', 'a2'], ['b1'], ['c1', 'c2', 'c3']]);
  });

  it('fails only the task with the bad input when a mixed batch fails', async () => {
    const { batcher } = setup();
    const [good, bad, alsoGood] = await Promise.allSettled([
      batcher.embed(['fine']),
      batcher.embed(['ok', 'boom']),
      batcher.embed(['also fine']),
    ]);
    expect(good.status).toBe('fulfilled');
    expect(alsoGood.status).toBe('fulfilled');
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'stub model cannot embed "boom"' } });
  });

  describe('lingering', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    // The clock is the test's: the linger timer fires only when the test moves time past it.
    it('holds a lone task for lingerMs, so that a task arriving meanwhile shares its inference', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const { model, batcher } = setup({ lingerMs: 40 });
      const first = batcher.embed(['first']);
      await vi.advanceTimersByTimeAsync(39);
      await new Promise((resolve) => setImmediate(resolve));
      expect(model.calls).toBe(0);
      const second = batcher.embed(['second']);
      await vi.advanceTimersByTimeAsync(1);
      await vi.runAllTimersAsync();
      await Promise.all([first, second]);
      expect(model.batches).toEqual([['first', 'second']]);
    });

    it('runs the lone task once lingerMs has passed, without the one that comes later', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const { model, batcher } = setup({ lingerMs: 40 });
      const first = batcher.embed(['first']);
      await vi.advanceTimersByTimeAsync(40);
      expect(model.batches).toEqual([['first']]);
      const second = batcher.embed(['second']);
      await vi.runAllTimersAsync();
      await Promise.all([first, second]);
      expect(model.batches).toEqual([['first'], ['second']]);
    });
  });

  it('rejects an empty list of texts before queueing it, and the model never sees it', async () => {
    const model = new StubModel();
    const batcher = new DynamicBatcher((batch) => model.embedTokenized(batch), options());
    await expect(batcher.run([])).rejects.toBeInstanceOf(ValidationError);
    expect(model.calls).toBe(0);
    await expect(batcher.run(await model.tokenize(['fine']))).resolves.toMatchObject({ tokenCounts: [4] });
    expect(model.batches).toEqual([['fine']]);
  });

  it('runs bulk texts only when no interactive text waits, one batch at a time, so a new interactive request waits for one bulk inference at most', async () => {
    const { model, release, hold } = gatedModel();
    // What each inference was given, as it starts (the model records it only once let through).
    const started: string[][] = [];
    const gated = model.embedTokenized.bind(model);
    model.embedTokenized = async (batch) => {
      started.push(batch.map((t) => String.fromCharCode(...t.ids)));
      return gated(batch);
    };
    const batcher = embedder(model, { maxBatchSize: 4, maxBulkBatchSize: 2 });
    const bulk = batcher.embed(Array.from({ length: 12 }, (_, i) => `bulk ${i}`), 'bulk');
    const first = batcher.embed(['interactive a'], 'interactive');
    await vi.waitFor(() => expect(started).toHaveLength(1));
    // Both arrived together: the interactive text goes first.
    expect(started[0]).toEqual(['interactive a']);
    release();
    await first;
    // The first bulk batch is under way; a request that comes now runs right after it.
    hold();
    await vi.waitFor(() => expect(started).toHaveLength(2));
    const second = batcher.embed(['interactive b'], 'interactive');
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await second;
    await bulk;
    // Interactive requests are about, so bulk batches are kept to maxBulkBatchSize.
    expect(started.map((b) => b.length)).toEqual([1, 2, 1, 2, 2, 2, 2, 2]);
    expect(started[2]).toEqual(['interactive b']);
  });

  it('takes a higher priority’s texts into the next round ahead of older, lower ones', async () => {
    const { model, release } = gatedModel();
    const batcher = embedder(model, { maxBatchSize: 2 });
    const running = batcher.embed(['busy 0']);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Ten low-priority tasks wait; a round holds four batches of two, so without priorities the late one would wait for the next round.
    const low = Array.from({ length: 10 }, (_, i) => batcher.embed([`low ${i}`], 'interactive', 0));
    const high = batcher.embed(['top 0'], 'interactive', 9);
    release();
    await Promise.all([running, high, ...low]);
    expect(model.batches.slice(0, 3)).toEqual([['busy 0'], ['top 0', 'low 0'], ['low 1', 'low 2']]);
  });

  it('runs bulk texts in full batches when no interactive request has come', async () => {
    const { model, batcher } = setup({ maxBatchSize: 4, maxBulkBatchSize: 2 });
    await batcher.embed(Array.from({ length: 12 }, (_, i) => `bulk ${i}`), 'bulk');
    expect(model.batches.map((b) => b.length)).toEqual([4, 4, 4]);
  });
});
