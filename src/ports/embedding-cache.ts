import type { TextInput } from '../domain/index.js';

/**
 * Which vectors a lookup is for: a model, and everything that decides what
 * vector it gives a text. Two scopes with different identities never share
 * an entry.
 */
export interface CacheScope {
  readonly model: string;
  /**
   * The model's files' content fingerprint and every option that changes a
   * vector (pooling, normalisation, prompt, truncation, long-text mode), in
   * one canonical string.
   */
  readonly identity: string;
}

/** What a text's entry holds: its vector as the model gave it, and what usage needs. */
export interface CachedEmbedding {
  readonly vector: Float32Array;
  /** Tokens the model read for the text, special tokens included. */
  readonly tokens: number;
  /** Tokens cut from the text to fit the model; 0 when none were. */
  readonly droppedTokens: number;
}

/** One model's share of the cache, for the console. */
export interface CacheModelStats {
  readonly model: string;
  readonly hits: number;
  readonly misses: number;
  /** Bytes its entries hold (vectors and keys), as the cache counts them. */
  readonly bytes: number;
  readonly entries: number;
  readonly evictions: number;
}

/**
 * Vectors already computed, by scope and text, so that a text seen before
 * is not embedded again.
 *
 * Guarantees:
 * - `get` answers in input order, `undefined` for a text not held; an entry
 *   is what `put` stored for the same scope and the same text, byte for
 *   byte, or nothing;
 * - the cache holds at most its byte bound: a `put` past it evicts other
 *   entries first (least recently used, or oldest where the store cannot
 *   tell use), and reports how many of each model's it evicted;
 * - entries may vanish at any time (a TTL, an eviction, a restart); nothing
 *   may rely on one being there;
 * - a failure or a stall is a rejection within the adapter's command
 *   timeout, never a hang: callers treat it as a miss, never as an error
 *   of their request.
 */
export interface EmbeddingCache {
  get(scope: CacheScope, inputs: readonly TextInput[]): Promise<readonly (CachedEmbedding | undefined)[]>;
  /** Stores entries for `inputs[i]` → `embeddings[i]`; resolves with the entries it evicted to make room, by model. */
  put(scope: CacheScope, inputs: readonly TextInput[], embeddings: readonly CachedEmbedding[]): Promise<ReadonlyMap<string, number>>;
  /** Per model: lookups answered and missed, and what the cache holds. */
  stats(): Promise<readonly CacheModelStats[]>;
  close(): Promise<void>;
}
