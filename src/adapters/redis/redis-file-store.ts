import type { Redis } from 'ioredis';
import { ContentTally, type FilePurpose, type FileRecord } from '../../domain/index.js';
import type { DescribeFile, FileQuery, FileStore } from '../../ports/file-store.js';
import { pageOf } from '../shared/file-pages.js';
import { closeRedis, command, connectRedis, type RedisConnectionOptions } from './connection.js';

export interface RedisFileStoreOptions extends RedisConnectionOptions {
  readonly keyPrefix: string;
}

/** Content is kept as a list of chunks of this size at most: no command moves more than a chunk. */
const CHUNK_BYTES = 1024 * 1024;
/** An upload that dies half-way leaves its chunks behind for this long at most. */
const ABANDONED_UPLOAD_SECONDS = 3600;

/**
 * Files in Redis, which the API and the workers already share wherever they
 * run: a hash for the record, a list of 1 MB chunks for the content, both
 * expiring when the file does, and a sorted set to list them. Chosen over a
 * shared volume because a deployment has Redis already, and a volume that
 * many machines can write (ReadWriteMany) often it does not; the cost is
 * Redis memory, so size `maxmemory` for the files kept (see docs/bulk-jobs.md).
 *
 * An upload is written under a key of its own and renamed into place with
 * the record in one MULTI, so a file is visible whole or not at all.
 */
export class RedisFileStore implements FileStore {
  private readonly redis: Redis;

  constructor(private readonly options: RedisFileStoreOptions) {
    this.redis = connectRedis(options, { failFast: true });
  }

  async save(id: string, content: AsyncIterable<Uint8Array>, describe: DescribeFile): Promise<FileRecord> {
    const upload = `${this.key(id)}:upload`;
    const counter = new ContentTally();
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const chunk = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await this.call(() => this.redis.multi().rpush(upload, chunk).expire(upload, ABANDONED_UPLOAD_SECONDS).exec());
      };
      for await (const piece of content) {
        counter.add(piece);
        pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
        pendingBytes += piece.byteLength;
        if (pendingBytes >= CHUNK_BYTES) await flush();
      }
      await flush();
      const record: FileRecord = { id, ...(await describe()), bytes: counter.bytes, lines: counter.lines };
      const expireAt = record.expiresAt.getTime();
      await this.call(() => {
        const multi = this.redis.multi();
        if (counter.bytes > 0) multi.rename(upload, this.chunksKey(id)).pexpireat(this.chunksKey(id), expireAt);
        return multi.hset(this.key(id), encode(record)).pexpireat(this.key(id), expireAt).zadd(this.indexKey(), record.createdAt.getTime(), id).exec();
      });
      return record;
    } catch (error) {
      // Not awaited: the failure is answered at once, and an upload left behind expires by itself.
      void this.redis.del(upload).catch(() => undefined);
      throw error;
    }
  }

  async get(id: string): Promise<FileRecord | undefined> {
    return decode(id, await this.call(() => this.redis.hgetall(this.key(id))));
  }

  async list(query: FileQuery): Promise<FileRecord[]> {
    const ids = await this.call(() => this.redis.zrange(this.indexKey(), 0, -1));
    if (ids.length === 0) return [];
    const rows = await this.call(() => {
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.key(id));
      return pipeline.exec();
    });
    const records: FileRecord[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const record = decode(id, (rows?.[i]?.[1] ?? {}) as Record<string, string>);
      if (!record) gone.push(id);
      else if ((query.owner === undefined || record.owner === query.owner) && (query.purpose === undefined || record.purpose === query.purpose)) records.push(record);
    });
    // Expired files leave their index entries behind; tidy them up on the way.
    if (gone.length > 0) void this.redis.zrem(this.indexKey(), ...gone).catch(() => undefined);
    return pageOf(records, query);
  }

  async read(id: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    if (!(await this.get(id))) return undefined;
    const key = this.chunksKey(id);
    const count = await this.call(() => this.redis.llen(key));
    return this.chunks(key, count);
  }

  async remove(id: string): Promise<boolean> {
    const [deleted] = await this.call(async () => {
      const results = await this.redis.multi().del(this.key(id)).del(this.chunksKey(id)).zrem(this.indexKey(), id).exec();
      return [Number(results?.[0]?.[1] ?? 0)];
    });
    return deleted! > 0;
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  /** One chunk per command, so a large file never moves through Redis in one reply. */
  private async *chunks(key: string, count: number): AsyncIterable<Uint8Array> {
    for (let i = 0; i < count; i++) {
      const [chunk] = await this.call(() => this.redis.lrangeBuffer(key, i, i));
      if (chunk) yield chunk;
    }
  }

  private key(id: string): string {
    return `${this.options.keyPrefix}file:${id}`;
  }

  private chunksKey(id: string): string {
    return `${this.key(id)}:chunks`;
  }

  private indexKey(): string {
    return `${this.options.keyPrefix}files`;
  }

  private call<T>(run: () => Promise<T>): Promise<T> {
    return command(this.redis, run, this.options);
  }
}

function encode(record: FileRecord): Record<string, string> {
  return {
    filename: record.filename,
    purpose: record.purpose,
    bytes: String(record.bytes),
    lines: String(record.lines),
    created_at: String(record.createdAt.getTime()),
    expires_at: String(record.expiresAt.getTime()),
    ...(record.owner !== undefined && { owner: record.owner }),
  };
}

function decode(id: string, raw: Record<string, string>): FileRecord | undefined {
  if (!raw.purpose) return undefined;
  return {
    id,
    filename: raw.filename ?? '',
    purpose: raw.purpose as FilePurpose,
    bytes: Number(raw.bytes),
    lines: Number(raw.lines),
    createdAt: new Date(Number(raw.created_at)),
    expiresAt: new Date(Number(raw.expires_at)),
    ...(raw.owner !== undefined && { owner: raw.owner }),
  };
}
