import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CachedEmbedding, CacheScope, EmbeddingCache } from '../../src/ports/embedding-cache.js';

export interface EmbeddingCacheHarness {
  /** A client of one cache of at most `maxBytes`, as another API replica would open it where the store is shared. */
  connect(maxBytes: number): Promise<EmbeddingCache>;
  cleanup(): Promise<void>;
}

const DIMENSIONS = 384;

function embedding(seed: number, tokens = 7, droppedTokens = 0): CachedEmbedding {
  return { vector: Float32Array.from({ length: DIMENSIONS }, (_, i) => Math.sin(seed * 1000 + i)), tokens, droppedTokens };
}

/** What every `EmbeddingCache` adapter promises, run against each one. */
export function embeddingCacheContract(name: string, makeHarness: () => Promise<EmbeddingCacheHarness>): void {
  describe(`EmbeddingCache contract: ${name}`, () => {
    let harness: EmbeddingCacheHarness;
    const opened: EmbeddingCache[] = [];
    const connect = async (maxBytes = 64 * 1024 * 1024) => {
      const cache = await harness.connect(maxBytes);
      opened.push(cache);
      return cache;
    };
    const scope = (identity = 'fingerprint-a', model = `m-${randomUUID().slice(0, 6)}`): CacheScope => ({ model, identity });

    beforeEach(async () => {
      harness = await makeHarness();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((c) => c.close()));
      await harness.cleanup();
    });

    it('gives back, in input order, exactly what was stored, bit for bit, and nothing for a text never stored', async () => {
      const cache = await connect();
      const s = scope();
      const stored = [embedding(1, 12, 0), embedding(2, 9, 3)];
      await cache.put(s, ['first', 'second'], stored);
      const found = await cache.get(s, ['second', 'never seen', 'first']);
      expect(found[1]).toBeUndefined();
      expect(found[0]).toEqual(stored[1]);
      expect(found[2]).toEqual(stored[0]);
      expect(Buffer.from(found[0]!.vector.buffer)).toEqual(Buffer.from(stored[1]!.vector.buffer));
    });

    it('never shares an entry between scopes: another identity, another model, or a token-id list with the same characters', async () => {
      const cache = await connect();
      const s = scope('identity-1');
      await cache.put(s, ['text', [1, 2, 3]], [embedding(3), embedding(4)]);
      expect(await cache.get({ ...s, identity: 'identity-2' }, ['text'])).toEqual([undefined]);
      expect(await cache.get({ ...s, model: `${s.model}-other` }, ['text'])).toEqual([undefined]);
      expect(await cache.get(s, ['1,2,3', [1, 2, 3]])).toEqual([undefined, embedding(4)]);
    });

    it('shares entries between every client of one cache', async () => {
      const [a, b] = [await connect(), await connect()];
      const s = scope();
      await a.put(s, ['shared'], [embedding(5)]);
      expect(await b.get(s, ['shared'])).toEqual([embedding(5)]);
    });

    it('holds no more than its byte bound under a flood of distinct texts, evicting the oldest and counting them', async () => {
      const bound = 200 * 1024;
      const cache = await connect(bound);
      const s = scope();
      let evicted = 0;
      for (let round = 0; round < 20; round++) {
        const texts = Array.from({ length: 25 }, (_, i) => `text ${round}-${i}`);
        const out = await cache.put(s, texts, texts.map((_, i) => embedding(round * 100 + i)));
        evicted += out.get(s.model) ?? 0;
      }
      const [stats] = (await cache.stats()).filter((m) => m.model === s.model);
      expect(stats!.bytes).toBeLessThanOrEqual(bound);
      // 500 entries of about 1.6 kB each were written into 200 kB.
      expect(stats!.entries).toBeLessThan(130);
      expect(stats!.entries).toBeGreaterThan(100);
      expect(evicted).toBe(500 - stats!.entries);
      expect(stats!.evictions).toBe(evicted);
      // The newest are kept, the first gone.
      expect((await cache.get(s, ['text 19-24']))[0]).toBeDefined();
      expect((await cache.get(s, ['text 0-0']))[0]).toBeUndefined();
    });

    it('counts hits and misses by model', async () => {
      const cache = await connect();
      const s = scope();
      await cache.put(s, ['a'], [embedding(6)]);
      await cache.get(s, ['a', 'b', 'c']);
      await cache.get(s, ['a']);
      // Redis counts on the side of the lookup: give it its moment.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [stats] = (await cache.stats()).filter((m) => m.model === s.model);
      expect(stats).toMatchObject({ hits: 2, misses: 2, entries: 1 });
      expect(stats!.bytes).toBeGreaterThan(DIMENSIONS * 4);
    });

    it('gives each caller its own copy: changing a vector it got or stored changes no entry', async () => {
      const cache = await connect();
      const s = scope();
      const stored = embedding(7);
      await cache.put(s, ['mine'], [stored]);
      stored.vector.fill(0);
      const [got] = await cache.get(s, ['mine']);
      got!.vector.fill(1);
      expect(await cache.get(s, ['mine'])).toEqual([embedding(7)]);
    });
  });
}
