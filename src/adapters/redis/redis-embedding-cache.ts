import type { Redis } from 'ioredis';
import type { TextInput } from '../../domain/index.js';
import type { CachedEmbedding, CacheModelStats, CacheScope, EmbeddingCache } from '../../ports/embedding-cache.js';
import { cacheKey, decodeEntry, encodeEntry, entryBytes } from '../shared/cache-entries.js';
import { closeRedis, command, connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, type RedisConnectionOptions } from './connection.js';

export interface RedisEmbeddingCacheOptions extends RedisConnectionOptions {
  /** Prepended to every key: the deployment's namespace. */
  readonly keyPrefix: string;
  readonly ttlSeconds: number;
  /** Most bytes of entries (keys and vectors) the cache keeps; past it the oldest go. */
  readonly maxBytes: number;
  /**
   * Writing stops while Redis reports its memory above this share of its
   * `maxmemory` (when one is set): the cache never takes the room that
   * task records need. Default 0.8.
   */
  readonly maxMemoryShare?: number;
}

/** How often Redis's own memory figures are read, off any request's path. */
const MEMORY_CHECK_MS = 5_000;

/*
 * A write, in one script so that the count of bytes, the index and the
 * entries never disagree: entries the index says have outlived the TTL
 * (Redis has dropped them) leave the count, the new entries are set with
 * the TTL (one already there is left as it is: same key, same vector), and
 * while the count passes the bound the oldest entries are deleted. The
 * index is a sorted set of `model \n key \n bytes` by write time (Redis's
 * clock, not a client's). Evictions are returned as model, count pairs.
 */
const PUT_SCRIPT = `
local index, stats = KEYS[1], KEYS[2]
local ttl, maxBytes, model, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function forget(member)
  local m, key, bytes = string.match(member, '^(.*)\\n(.*)\\n(%d+)$')
  redis.call('HINCRBY', stats, m .. '\\nbytes', -tonumber(bytes))
  redis.call('HINCRBY', stats, m .. '\\nentries', -1)
  redis.call('HINCRBY', stats, 'total_bytes', -tonumber(bytes))
  return m, key
end
local cutoff = now - ttl * 1000
for _, member in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', cutoff)) do forget(member) end
redis.call('ZREMRANGEBYSCORE', index, '-inf', cutoff)
for i = 3, #KEYS do
  local value, key, bytes = ARGV[5 + (i - 3) * 3], ARGV[6 + (i - 3) * 3], tonumber(ARGV[7 + (i - 3) * 3])
  if redis.call('SET', KEYS[i], value, 'EX', ttl, 'NX') then
    redis.call('ZADD', index, now, model .. '\\n' .. key .. '\\n' .. bytes)
    redis.call('HINCRBY', stats, model .. '\\nbytes', bytes)
    redis.call('HINCRBY', stats, model .. '\\nentries', 1)
    redis.call('HINCRBY', stats, 'total_bytes', bytes)
  end
end
local evicted = {}
while tonumber(redis.call('HGET', stats, 'total_bytes') or '0') > maxBytes do
  local oldest = redis.call('ZPOPMIN', index)
  if #oldest == 0 then break end
  local m, key = forget(oldest[1])
  redis.call('DEL', prefix .. m .. ':' .. key)
  redis.call('HINCRBY', stats, m .. '\\nevictions', 1)
  evicted[m] = (evicted[m] or 0) + 1
end
local out = {}
for m, n in pairs(evicted) do table.insert(out, m); table.insert(out, n) end
return out
`;

/**
 * The distributed mode's cache, shared by every API process of a
 * deployment: entries under `<prefix>cache:<model>:<key>` with a TTL, their
 * bytes bounded by `maxBytes` (oldest written first out: a hit does not
 * refresh an entry, which would make every read a write). The hits and
 * misses of all processes are counted in Redis too, for the console.
 *
 * It has a connection of its own that fails fast (no offline queue), and a
 * lookup gives up after half the command timeout, charged to its request's
 * store budget: a stalled Redis costs a request no more than it did without
 * a cache. Like the task scripts, the write script names keys it
 * computes (evicted entries), which a Redis Cluster would refuse.
 */
export class RedisEmbeddingCache implements EmbeddingCache {
  private readonly redis: Redis;
  private readonly prefix: string;
  private memory: { readonly checkedAt: number; readonly full: boolean } = { checkedAt: 0, full: false };

  constructor(private readonly options: RedisEmbeddingCacheOptions) {
    this.redis = connectRedis(options, { failFast: true, autoPipelining: true });
    this.prefix = `${options.keyPrefix}cache:`;
    this.redis.defineCommand('putEmbeddings', { lua: PUT_SCRIPT });
  }

  async get(scope: CacheScope, inputs: readonly TextInput[]): Promise<readonly (CachedEmbedding | undefined)[]> {
    const keys = inputs.map((input) => `${this.prefix}${scope.model}:${cacheKey(scope, input)}`);
    // Half the command timeout, drawn from the request's store budget: a stall of the cache alone leaves the
    // request the other half for its store commands; a stall of all of Redis still answers within one timeout.
    const lookup = { ...this.options, commandTimeoutMs: this.lookupTimeoutMs };
    const values = await command(this.redis, () => this.redis.mgetBuffer(...keys), lookup);
    const entries = values.map((value) => (value ? decodeEntry(value) : undefined));
    const hits = entries.filter((entry) => entry !== undefined).length;
    // Counted on the side: a lost count is no reason to fail or slow a lookup.
    this.redis
      .pipeline()
      .hincrby(this.statsKey, `${scope.model}\nhits`, hits)
      .hincrby(this.statsKey, `${scope.model}\nmisses`, inputs.length - hits)
      .exec()
      .catch(() => undefined);
    return entries;
  }

  async put(scope: CacheScope, inputs: readonly TextInput[], embeddings: readonly CachedEmbedding[]): Promise<ReadonlyMap<string, number>> {
    if (inputs.length === 0 || (await this.redisIsFull())) return new Map();
    const keys = inputs.map((input) => cacheKey(scope, input));
    const args = keys.flatMap((key, i) => [encodeEntry(embeddings[i]!), key, String(entryBytes(key, embeddings[i]!))]);
    const entryKeys = keys.map((key) => `${this.prefix}${scope.model}:${key}`);
    const put = this.redis as Redis & { putEmbeddings(...args: (string | number | Buffer)[]): Promise<(string | number)[]> };
    // Written after the answer: no request's budget pays for it.
    const { budget: _, ...unbudgeted } = this.options;
    const reply = await command(
      this.redis,
      () => put.putEmbeddings(2 + entryKeys.length, this.indexKey, this.statsKey, ...entryKeys, this.options.ttlSeconds, this.options.maxBytes, scope.model, this.prefix, ...args),
      unbudgeted,
    );
    const evicted = new Map<string, number>();
    for (let i = 0; i < reply.length; i += 2) evicted.set(String(reply[i]), Number(reply[i + 1]));
    return evicted;
  }

  async stats(): Promise<readonly CacheModelStats[]> {
    const fields = await command(this.redis, () => this.redis.hgetall(this.statsKey), this.options);
    const byModel = new Map<string, Record<string, number>>();
    for (const [field, value] of Object.entries(fields)) {
      const cut = field.lastIndexOf('\n');
      if (cut < 0) continue;
      const model = field.slice(0, cut);
      byModel.set(model, { ...byModel.get(model), [field.slice(cut + 1)]: Number(value) });
    }
    return [...byModel].map(([model, n]) => ({
      model,
      hits: n.hits ?? 0,
      misses: n.misses ?? 0,
      bytes: Math.max(0, n.bytes ?? 0),
      entries: Math.max(0, n.entries ?? 0),
      evictions: n.evictions ?? 0,
    }));
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  private get lookupTimeoutMs(): number {
    return Math.max(1, Math.floor((this.options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS) / 2));
  }

  private get indexKey(): string {
    return `${this.prefix}index`;
  }

  private get statsKey(): string {
    return `${this.prefix}stats`;
  }

  /** Whether Redis is near its own `maxmemory`, as it last reported (read every few seconds, in the background). */
  private async redisIsFull(): Promise<boolean> {
    const now = Date.now();
    if (now - this.memory.checkedAt >= MEMORY_CHECK_MS) {
      this.memory = { ...this.memory, checkedAt: now };
      void this.redis
        .info('memory')
        .then((info) => {
          const figure = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
          const max = figure('maxmemory');
          this.memory = { checkedAt: now, full: max > 0 && figure('used_memory') > max * (this.options.maxMemoryShare ?? 0.8) };
        })
        .catch(() => undefined);
    }
    return this.memory.full;
  }
}
