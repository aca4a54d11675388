import { createHash } from 'node:crypto';
import type { TextInput } from '../../domain/index.js';
import type { CachedEmbedding, CacheScope } from '../../ports/embedding-cache.js';

/*
 * How every embedding cache names and packs its entries: the key is a hash
 * of the scope's identity and the text (so that a key says nothing of the
 * text, and every key is as long), the value the vector's float32 bytes
 * after two counts.
 */

/** The entry's key within its model: SHA-256 of the scope's identity and the input, base64url. */
export function cacheKey(scope: CacheScope, input: TextInput): string {
  const hash = createHash('sha256').update(scope.identity).update('\0');
  // A text and a token-id list never collide: they hash under different tags.
  hash.update(typeof input === 'string' ? `t:${input}` : `i:${input.join(',')}`);
  return hash.digest('base64url');
}

const HEADER_BYTES = 8;

export function encodeEntry(entry: CachedEmbedding): Buffer {
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + entry.vector.byteLength);
  bytes.writeUInt32LE(entry.tokens, 0);
  bytes.writeUInt32LE(entry.droppedTokens, 4);
  Buffer.from(entry.vector.buffer, entry.vector.byteOffset, entry.vector.byteLength).copy(bytes, HEADER_BYTES);
  return bytes;
}

/** The entry `bytes` hold; undefined for bytes no `encodeEntry` wrote (a foreign or cut value is a miss, not an error). */
export function decodeEntry(bytes: Buffer): CachedEmbedding | undefined {
  if (bytes.length < HEADER_BYTES || (bytes.length - HEADER_BYTES) % 4 !== 0) return undefined;
  const vector = new Float32Array((bytes.length - HEADER_BYTES) / 4);
  Buffer.from(vector.buffer).set(bytes.subarray(HEADER_BYTES));
  return { tokens: bytes.readUInt32LE(0), droppedTokens: bytes.readUInt32LE(4), vector };
}

/** What an entry costs its cache: its key and its value. */
export function entryBytes(key: string, entry: CachedEmbedding): number {
  return key.length + HEADER_BYTES + entry.vector.byteLength;
}
