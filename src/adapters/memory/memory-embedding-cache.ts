import type { TextInput } from '../../domain/index.js';
import type { CachedEmbedding, CacheModelStats, CacheScope, EmbeddingCache } from '../../ports/embedding-cache.js';
import { cacheKey, entryBytes } from '../shared/cache-entries.js';

interface Entry {
  readonly model: string;
  readonly embedding: CachedEmbedding;
  readonly bytes: number;
}

type Counts = { -readonly [K in keyof CacheModelStats]: CacheModelStats[K] };

/**
 * The embedded mode's cache: least recently used entries go first once the
 * entries' bytes would pass `maxBytes`. A Map keeps insertion order, so a
 * hit moves its entry to the end and eviction takes from the front.
 * Entries hold their own copy of the vector, so a caller that changes the
 * array it stored or got changes no entry.
 */
export class MemoryEmbeddingCache implements EmbeddingCache {
  private readonly entries = new Map<string, Entry>();
  private readonly counts = new Map<string, Counts>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  async get(scope: CacheScope, inputs: readonly TextInput[]): Promise<readonly (CachedEmbedding | undefined)[]> {
    const counts = this.countsOf(scope.model);
    return inputs.map((input) => {
      const key = `${scope.model}/${cacheKey(scope, input)}`;
      const entry = this.entries.get(key);
      if (!entry) {
        counts.misses++;
        return undefined;
      }
      counts.hits++;
      this.entries.delete(key);
      this.entries.set(key, entry);
      return { ...entry.embedding, vector: entry.embedding.vector.slice() };
    });
  }

  async put(scope: CacheScope, inputs: readonly TextInput[], embeddings: readonly CachedEmbedding[]): Promise<ReadonlyMap<string, number>> {
    const evicted = new Map<string, number>();
    inputs.forEach((input, i) => {
      const key = `${scope.model}/${cacheKey(scope, input)}`;
      const embedding = { ...embeddings[i]!, vector: embeddings[i]!.vector.slice() };
      const bytes = entryBytes(key, embedding);
      if (bytes > this.maxBytes) return;
      this.remove(key);
      while (this.bytes + bytes > this.maxBytes) {
        const [oldest, entry] = this.entries.entries().next().value!;
        this.remove(oldest);
        this.countsOf(entry.model).evictions++;
        evicted.set(entry.model, (evicted.get(entry.model) ?? 0) + 1);
      }
      this.entries.set(key, { model: scope.model, embedding, bytes });
      const counts = this.countsOf(scope.model);
      counts.bytes += bytes;
      counts.entries++;
      this.bytes += bytes;
    });
    return evicted;
  }

  async stats(): Promise<readonly CacheModelStats[]> {
    return [...this.counts.values()].map((counts) => ({ ...counts }));
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const counts = this.countsOf(entry.model);
    counts.bytes -= entry.bytes;
    counts.entries--;
    this.bytes -= entry.bytes;
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private countsOf(model: string): Counts {
    let counts = this.counts.get(model);
    if (!counts) this.counts.set(model, (counts = { model, hits: 0, misses: 0, bytes: 0, entries: 0, evictions: 0 }));
    return counts;
  }
}
