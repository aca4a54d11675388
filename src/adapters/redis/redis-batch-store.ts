import type { Redis } from 'ioredis';
import { z } from 'zod';
import { BATCH_ENDPOINTS, BATCH_STATUSES, BATCH_WINDOW, isFinalBatch, ServiceUnavailableError, type Batch } from '../../domain/index.js';
import type { BatchChunk, BatchQuery, BatchStore, ChunkOutcome, OutcomeCounts } from '../../ports/batch-store.js';
import { closeRedis, command, connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisBatchStoreOptions extends RedisConnectionOptions {
  readonly keyPrefix: string;
  /** How long a batch and its files' ids are kept after creation. */
  readonly retentionMs: number;
}

/**
 * Replaces the batch's JSON only if it is still what the change was
 * computed from, and keeps the set of unfinished batches in step.
 * KEYS: the batch, the unfinished set. ARGV: old JSON, new JSON, 1 when the
 * new one is final, the id.
 */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if ARGV[3] == '1' then redis.call('SREM', KEYS[2], ARGV[4]) end
return 1`;

/** Takes a lease that is free, or renews one this holder has. KEYS: the lease. ARGV: holder, ttl ms. */
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/** An outcome is written once, with its counts beside it. KEYS: outcomes, counts. ARGV: index, outcome JSON, counts JSON, expire-at ms. */
const SAVE_OUTCOME = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
return 1`;

const MAX_UPDATE_TRIES = 20;

/**
 * Batches in Redis, shared by every API process: a batch is one JSON value
 * (changed by compare-and-set, so two processes' changes never overwrite
 * each other), its chunks and outcomes hashes by chunk index, and sorted
 * sets index them for listing. Everything expires with the batch.
 */
export class RedisBatchStore implements BatchStore {
  private readonly redis: Redis;

  constructor(private readonly options: RedisBatchStoreOptions) {
    this.redis = connectRedis(options, { failFast: true });
  }

  async create(batch: Batch): Promise<void> {
    const expireAt = batch.createdAt.getTime() + this.options.retentionMs;
    await this.call(() => {
      const multi = this.redis.multi().set(this.key(batch.id), encode(batch), 'PXAT', expireAt).zadd(this.index(), batch.createdAt.getTime(), batch.id);
      if (batch.owner !== undefined) multi.zadd(this.index(batch.owner), batch.createdAt.getTime(), batch.id);
      return multi.sadd(this.unfinishedKey(), batch.id).exec();
    });
  }

  async get(id: string): Promise<Batch | undefined> {
    const json = await this.call(() => this.redis.get(this.key(id)));
    return json === null ? undefined : decode(json);
  }

  async list({ owner, after, limit }: BatchQuery): Promise<Batch[]> {
    const index = this.index(owner);
    const cutoff = Date.now() - this.options.retentionMs;
    await this.call(() => this.redis.zremrangebyscore(index, '-inf', cutoff));
    let start = 0;
    if (after !== undefined) {
      const rank = await this.call(() => this.redis.zrevrank(index, after));
      if (rank === null) return [];
      start = rank + 1;
    }
    const ids = await this.call(() => this.redis.zrevrange(index, start, start + limit - 1));
    if (ids.length === 0) return [];
    const values = await this.call(() => this.redis.mget(ids.map((id) => this.key(id))));
    return values.flatMap((json) => (json === null ? [] : [decode(json)]));
  }

  async update(id: string, change: (batch: Batch) => Batch): Promise<Batch | undefined> {
    for (let i = 0; i < MAX_UPDATE_TRIES; i++) {
      const before = await this.call(() => this.redis.get(this.key(id)));
      if (before === null) return undefined;
      const changed = change(decode(before));
      const after = encode(changed);
      if (after === before) return changed;
      const done = await this.call(() =>
        this.redis.eval(COMPARE_AND_SET, 2, this.key(id), this.unfinishedKey(), before, after, isFinalBatch(changed) ? '1' : '0', id),
      );
      if (done === 1) return changed;
    }
    throw new ServiceUnavailableError(`Batch ${id} is changing too often to update; try again.`);
  }

  async unfinished(): Promise<string[]> {
    const ids = await this.call(() => this.redis.smembers(this.unfinishedKey()));
    if (ids.length === 0) return [];
    const values = await this.call(() => this.redis.mget(ids.map((id) => this.key(id))));
    const batches = values.flatMap((json) => (json === null ? [] : [decode(json)]));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) void this.redis.srem(this.unfinishedKey(), ...gone).catch(() => undefined);
    return batches
      .filter((b) => !isFinalBatch(b))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
      .map((b) => b.id);
  }

  async lease(id: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.call(() => this.redis.eval(LEASE, 1, `${this.key(id)}:lease`, holder, String(ttlMs)))) === 1;
  }

  async release(id: string, holder: string): Promise<void> {
    await this.call(() => this.redis.eval(RELEASE, 1, `${this.key(id)}:lease`, holder));
  }

  async saveChunk(id: string, chunk: BatchChunk): Promise<void> {
    const key = `${this.key(id)}:chunks`;
    await this.call(() => this.redis.multi().hset(key, String(chunk.index), JSON.stringify(chunk)).pexpireat(key, this.workExpiry()).exec());
  }

  async chunks(id: string): Promise<BatchChunk[]> {
    const all = await this.call(() => this.redis.hvals(`${this.key(id)}:chunks`));
    return all.map((json) => JSON.parse(json) as BatchChunk).sort((a, b) => a.index - b.index);
  }

  async saveOutcome(id: string, index: number, outcome: ChunkOutcome): Promise<boolean> {
    const { completed, failed, tokens } = outcome;
    const saved = await this.call(() =>
      this.redis.eval(
        SAVE_OUTCOME,
        2,
        `${this.key(id)}:outcomes`,
        `${this.key(id)}:counts`,
        String(index),
        JSON.stringify(outcome),
        JSON.stringify({ completed, failed, tokens }),
        String(this.workExpiry()),
      ),
    );
    return saved === 1;
  }

  async outcomeCounts(id: string): Promise<Map<number, OutcomeCounts>> {
    const all = await this.call(() => this.redis.hgetall(`${this.key(id)}:counts`));
    return new Map(Object.entries(all).map(([index, json]) => [Number(index), JSON.parse(json) as OutcomeCounts]));
  }

  /** One outcome per command, in index order: a large batch's outcomes never move in one reply. */
  async *outcomes(id: string): AsyncIterable<ChunkOutcome> {
    const key = `${this.key(id)}:outcomes`;
    const indexes = (await this.call(() => this.redis.hkeys(key))).map(Number).sort((a, b) => a - b);
    for (const index of indexes) {
      const json = await this.call(() => this.redis.hget(key, String(index)));
      if (json !== null) yield JSON.parse(json) as ChunkOutcome;
    }
  }

  async dropWork(id: string): Promise<void> {
    const key = this.key(id);
    await this.call(() => this.redis.del(`${key}:chunks`, `${key}:outcomes`, `${key}:counts`));
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  /** A batch's work (chunks, outcomes) is dropped when it ends; if it never does, it goes a retention period after its last write. */
  private workExpiry(): number {
    return Date.now() + this.options.retentionMs;
  }

  private key(id: string): string {
    return `${this.options.keyPrefix}batch:${id}`;
  }

  private index(owner?: string): string {
    return owner === undefined ? `${this.options.keyPrefix}batches` : `${this.options.keyPrefix}batches:owner:${owner}`;
  }

  private unfinishedKey(): string {
    return `${this.options.keyPrefix}batches:unfinished`;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return command(this.redis, run, this.options);
  }
}

const date = z.coerce.date();

/** A batch as stored: checked field by field when read back, its times made Dates again. */
const StoredBatch = z.object({
  id: z.string(),
  endpoint: z.enum(BATCH_ENDPOINTS),
  inputFileId: z.string(),
  completionWindow: z.literal(BATCH_WINDOW),
  status: z.enum(BATCH_STATUSES),
  createdAt: date,
  expiresAt: date,
  inProgressAt: date.optional(),
  finalizingAt: date.optional(),
  completedAt: date.optional(),
  failedAt: date.optional(),
  expiredAt: date.optional(),
  cancellingAt: date.optional(),
  cancelledAt: date.optional(),
  outputFileId: z.string().optional(),
  errorFileId: z.string().optional(),
  errors: z.array(z.object({ code: z.string(), message: z.string(), param: z.string().optional(), line: z.number().optional() })).optional(),
  requestCounts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }),
  usageTokens: z.number(),
  metadata: z.record(z.string(), z.string()).optional(),
  owner: z.string().optional(),
  trace: z.record(z.string(), z.string()).optional(),
});

function encode(batch: Batch): string {
  return JSON.stringify(batch);
}

function decode(json: string): Batch {
  return StoredBatch.parse(JSON.parse(json)) satisfies Batch;
}
