import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { ContentTally, type FileRecord } from '../../domain/index.js';
import type { DescribeFile, FileQuery, FileStore } from '../../ports/file-store.js';
import { pageOf } from '../shared/file-pages.js';

/** Ids are ours (`file-` and hex), never a path: anything else is no file. */
const ID = /^file-[0-9a-f]{24,64}$/;

interface Meta extends Omit<FileRecord, 'createdAt' | 'expiresAt'> {
  readonly createdAt: string;
  readonly expiresAt: string;
}

/**
 * Files in a directory (the embedded mode's, or a volume that every process
 * mounts): `<id>.data` holds the content and `<id>.json` the record. Both
 * are written under a temporary name and renamed, the record last, so a file
 * is visible whole or not at all. Expired files are deleted when met.
 */
export class FilesystemFileStore implements FileStore {
  private readonly ready: Promise<void>;

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.ready = mkdir(dir, { recursive: true }).then(() => undefined);
  }

  async save(id: string, content: AsyncIterable<Uint8Array>, describe: DescribeFile): Promise<FileRecord> {
    if (!ID.test(id)) throw new Error(`not a file id: ${id}`);
    await this.ready;
    const counter = new ContentTally();
    const partial = join(this.dir, `${id}.data.partial`);
    try {
      await pipeline(
        Readable.from(content),
        async function* (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            counter.add(chunk);
            yield chunk;
          }
        },
        createWriteStream(partial),
      );
      const record: FileRecord = { id, ...(await describe()), bytes: counter.bytes, lines: counter.lines };
      await rename(partial, this.dataPath(id));
      const meta = `${this.metaPath(id)}.partial`;
      await writeFile(meta, JSON.stringify(record));
      await rename(meta, this.metaPath(id));
      return record;
    } catch (error) {
      await Promise.all([rm(partial, { force: true }), rm(this.dataPath(id), { force: true }), rm(`${this.metaPath(id)}.partial`, { force: true })]);
      throw error;
    }
  }

  async get(id: string): Promise<FileRecord | undefined> {
    if (!ID.test(id)) return undefined;
    await this.ready;
    const text = await readFile(this.metaPath(id), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const meta = JSON.parse(text) as Meta;
    const record: FileRecord = { ...meta, createdAt: new Date(meta.createdAt), expiresAt: new Date(meta.expiresAt) };
    if (record.expiresAt.getTime() <= this.now()) {
      await this.remove(id);
      return undefined;
    }
    return record;
  }

  async list(query: FileQuery): Promise<FileRecord[]> {
    await this.ready;
    const names = await readdir(this.dir);
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => this.get(n.slice(0, -'.json'.length))));
    const matching = records.filter(
      (r): r is FileRecord => r !== undefined && (query.owner === undefined || r.owner === query.owner) && (query.purpose === undefined || r.purpose === query.purpose),
    );
    return pageOf(matching, query);
  }

  async read(id: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    if (!(await this.get(id))) return undefined;
    return createReadStream(this.dataPath(id));
  }

  async remove(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    await this.ready;
    // The record first: from then on the file is gone for every reader, whatever happens to the content.
    const existed = await rm(this.metaPath(id)).then(
      () => true,
      () => false,
    );
    await rm(this.dataPath(id), { force: true });
    return existed;
  }

  async close(): Promise<void> {}

  private dataPath(id: string): string {
    return join(this.dir, `${id}.data`);
  }

  private metaPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }
}
