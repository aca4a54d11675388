import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelBatch, countBatch, endBatch, InvalidTransitionError, newBatch, startBatch, type Batch } from '../../src/domain/index.js';
import type { BatchChunk, BatchStore, ChunkOutcome } from '../../src/ports/batch-store.js';

export interface BatchStoreHarness {
  /** A client of the same batches, as another process would open. */
  connect(): Promise<BatchStore>;
  cleanup(): Promise<void>;
  /**
   * Lets `ms` pass for the store's leases: an injected clock moved on, or,
   * where the server keeps the time (Redis expires keys itself), the real
   * time waited out.
   */
  elapse(ms: number): Promise<void>;
}

const outcome = (n: number): ChunkOutcome => ({ output: `{"line":${n}}\n`, errors: n % 2 ? `{"bad":${n}}\n` : '', completed: 1, failed: n % 2, tokens: 10 * n });
const chunk = (index: number, fields: Partial<BatchChunk> = {}): BatchChunk => ({
  index,
  firstLine: index * 10 + 1,
  endLine: index * 10 + 11,
  tasks: [{ taskId: `t${index}`, model: 'm', lines: [{ line: index * 10 + 1, customId: `c${index}`, inputs: 1, encoding: 'float' }] }],
  refused: [{ line: index * 10 + 2, text: '{"error":true}\n' }],
  ...fields,
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What every `BatchStore` adapter promises, run against each one. */
export function batchStoreContract(name: string, makeHarness: () => Promise<BatchStoreHarness>): void {
  describe(`BatchStore contract: ${name}`, () => {
    let harness: BatchStoreHarness;
    let store: BatchStore;
    let other: BatchStore;
    let n = 0;
    const batch = (fields: { owner?: string; metadata?: Record<string, string>; endpoint?: Batch['endpoint'] } = {}): Batch =>
      newBatch({ endpoint: '/v1/embeddings', id: `batch_${Date.now()}${n++}`, inputFileId: 'file-abc', now: new Date(Date.now() + n), ...fields });

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.connect();
      other = await harness.connect();
    });
    afterEach(async () => {
      await store.close();
      await other.close();
      await harness.cleanup();
    });

    it('keeps a batch with every field, dates as dates, and shows it to every client', async () => {
      const b = startBatch(batch({ owner: 'alice', metadata: { project: 'x' } }), 3, new Date());
      await store.create(b);
      expect(await other.get(b.id)).toEqual(b);
      const rerank = batch({ endpoint: '/v1/rerank' });
      await store.create(rerank);
      expect(await other.get(rerank.id)).toEqual(rerank);
      expect(await other.get('batch_none')).toBeUndefined();
    });

    it('lists newest first, a page after a given id, and only an owner’s when asked', async () => {
      const [a, b, c] = [batch({ owner: 'alice' }), batch({ owner: 'bob' }), batch({ owner: 'alice' })];
      for (const x of [a, b, c]) await store.create(x);
      expect((await other.list({ limit: 10 })).map((x) => x.id)).toEqual([c.id, b.id, a.id]);
      expect((await other.list({ limit: 1, after: c.id })).map((x) => x.id)).toEqual([b.id]);
      expect((await other.list({ limit: 10, owner: 'alice' })).map((x) => x.id)).toEqual([c.id, a.id]);
      expect(await other.list({ limit: 10, after: 'batch_unknown' })).toEqual([]);
    });

    it('applies concurrent updates from several clients one after another, losing none', async () => {
      const b = batch();
      await store.create(b);
      const bump = (client: BatchStore) =>
        client.update(b.id, (x) => countBatch(x, { completed: x.requestCounts.completed + 1, failed: 0, usageTokens: x.usageTokens + 2 }));
      await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? store : other)));
      expect((await store.get(b.id))!.requestCounts.completed).toBe(20);
      expect((await store.get(b.id))!.usageTokens).toBe(40);
      expect(await store.update('batch_none', (x) => x)).toBeUndefined();
    });

    it('throws what a change throws, and writes nothing', async () => {
      const b = endBatch(startBatch(batch(), 1, new Date()), 'completed', {}, new Date());
      await store.create(b);
      await expect(store.update(b.id, (x) => cancelBatch(x, new Date()))).rejects.toBeInstanceOf(InvalidTransitionError);
      expect(await store.get(b.id)).toEqual(b);
    });

    it('lists unfinished batches oldest first, and not once they are final', async () => {
      const [a, b] = [batch(), batch()];
      await store.create(a);
      await store.create(b);
      expect((await other.unfinished()).filter((id) => id === a.id || id === b.id)).toEqual([a.id, b.id]);
      await other.update(a.id, (x) => endBatch(startBatch(x, 1, new Date()), 'completed', {}, new Date()));
      expect(await store.unfinished()).not.toContain(a.id);
      expect(await store.unfinished()).toContain(b.id);
    });

    it('leases a batch to one holder at a time, renewed by its holder, free once released or run out', async () => {
      const b = batch();
      await store.create(b);
      expect(await store.lease(b.id, 'p1', 1_000)).toBe(true);
      expect(await other.lease(b.id, 'p2', 1_000)).toBe(false);
      expect(await store.lease(b.id, 'p1', 1_000)).toBe(true);
      // Releasing a lease it does not hold changes nothing.
      await other.release(b.id, 'p2');
      await harness.elapse(500);
      expect(await other.lease(b.id, 'p2', 1_000)).toBe(false);
      await harness.elapse(600);
      expect(await other.lease(b.id, 'p2', 10_000)).toBe(true);
      await other.release(b.id, 'p2');
      expect(await store.lease(b.id, 'p1', 10_000)).toBe(true);
    });

    it('keeps chunks by index, a later save of an index replacing it', async () => {
      const b = batch();
      await store.create(b);
      await store.saveChunk(b.id, chunk(1));
      await store.saveChunk(b.id, chunk(0));
      const replanned = chunk(1, { tasks: [] });
      await other.saveChunk(b.id, replanned);
      expect(await store.chunks(b.id)).toEqual([chunk(0), replanned]);
      const rerank = chunk(2, {
        tasks: [{ taskId: 't2', model: 'r', lines: [{ line: 21, customId: 'c2', inputs: 2, rerank: { topN: 1, rawScores: true, documents: ['a', 'b'] } }] }],
      });
      await store.saveChunk(b.id, rerank);
      expect((await other.chunks(b.id))[2]).toEqual(rerank);
    });

    it('records a chunk’s outcome once, counts it, gives the outcomes back in index order, and forgets them with the work', async () => {
      const b = batch();
      await store.create(b);
      await store.saveChunk(b.id, chunk(0));
      expect(await store.saveOutcome(b.id, 2, outcome(2))).toBe(true);
      expect(await other.saveOutcome(b.id, 0, outcome(1))).toBe(true);
      expect(await store.saveOutcome(b.id, 2, outcome(5))).toBe(false);
      expect(await other.outcomeCounts(b.id)).toEqual(
        new Map([
          [0, { completed: 1, failed: 1, tokens: 10 }],
          [2, { completed: 1, failed: 0, tokens: 20 }],
        ]),
      );
      expect(await all(other.outcomes(b.id))).toEqual([outcome(1), outcome(2)]);
      await store.dropWork(b.id);
      expect(await other.chunks(b.id)).toEqual([]);
      expect(await other.outcomeCounts(b.id)).toEqual(new Map());
      expect(await all(other.outcomes(b.id))).toEqual([]);
      expect(await other.get(b.id)).toEqual(b);
    });
  });
}
