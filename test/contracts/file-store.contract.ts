import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewFile } from '../../src/domain/index.js';
import type { FileStore } from '../../src/ports/file-store.js';
import { waitFor } from '../support/wait.js';

export interface FileStoreHarness {
  /** A client of the same files, as another process would open. */
  connect(): Promise<FileStore>;
  cleanup(): Promise<void>;
}

async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part) : part;
}

async function text(content: AsyncIterable<Uint8Array> | undefined): Promise<Buffer | undefined> {
  if (!content) return undefined;
  const parts: Buffer[] = [];
  for await (const part of content) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

/** What every `FileStore` adapter promises, run against each one. */
export function fileStoreContract(name: string, makeHarness: () => Promise<FileStoreHarness>): void {
  describe(`FileStore contract: ${name}`, () => {
    let harness: FileStoreHarness;
    let store: FileStore;
    let other: FileStore;
    let n = 0;
    const file = (fields: Partial<NewFile> = {}): NewFile => ({
      id: `file-${(Date.now() * 1000 + n++).toString(16).padStart(24, '0')}`,
      filename: 'input.jsonl',
      purpose: 'batch',
      createdAt: new Date(Date.now() + n),
      expiresAt: new Date(Date.now() + 3_600_000),
      ...fields,
    });

    const save = (client: FileStore, f: NewFile, content: AsyncIterable<Uint8Array>) => {
      const { id, ...rest } = f;
      return client.save(id, content, async () => rest);
    };

    beforeEach(async () => {
      harness = await makeHarness();
      store = await harness.connect();
      other = await harness.connect();
    });
    afterEach(async () => {
      await store.close();
      if (other !== store) await other.close();
      await harness.cleanup();
    });

    it('keeps a file’s content exactly, counts its bytes and lines, and shows it to every client', async () => {
      const f = file({ owner: 'alice' });
      const saved = await save(store, f, chunks('{"a":1}\n', '{"b":', '2}\n{"c":3}'));
      expect(saved).toEqual({ ...f, bytes: 23, lines: 3 });
      expect(await other.get(f.id)).toEqual(saved);
      expect((await text(await other.read(f.id)))!.toString()).toBe('{"a":1}\n{"b":2}\n{"c":3}');
      const trailing = await save(store, file(), chunks('x\ny\n'));
      expect(trailing).toMatchObject({ bytes: 4, lines: 2 });
      expect(await save(store, file(), chunks())).toMatchObject({ bytes: 0, lines: 0 });
    });

    it('reads back megabytes of binary-safe content unchanged', async () => {
      const big = randomBytes(3 * 1024 * 1024 + 17);
      const f = file();
      await save(store, f, chunks(big.subarray(0, 1000), big.subarray(1000)));
      expect((await text(await other.read(f.id)))!.equals(big)).toBe(true);
    });

    it('leaves nothing of a file whose content failed half-way', async () => {
      const f = file();
      async function* failing(): AsyncIterable<Uint8Array> {
        yield Buffer.from('line one\n');
        throw new Error('the client went away');
      }
      await expect(save(store, f, failing())).rejects.toThrow('the client went away');
      // A record that cannot be completed (a bad field named after the file) stores nothing either.
      const refused = file();
      await expect(store.save(refused.id, chunks('fine content\n'), async () => Promise.reject(new Error('bad purpose')))).rejects.toThrow('bad purpose');
      expect(await other.get(refused.id)).toBeUndefined();
      expect(await other.get(f.id)).toBeUndefined();
      expect(await other.read(f.id)).toBeUndefined();
      expect((await other.list({ limit: 100 })).map((r) => r.id)).not.toContain(f.id);
    });

    it('lists newest first by default, by owner and purpose, in pages after a cursor', async () => {
      const a = await save(store, file({ owner: 'alice' }), chunks('1'));
      const b = await save(store, file({ owner: 'bob' }), chunks('2'));
      const c = await save(store, file({ owner: 'alice', purpose: 'batch_output' }), chunks('3'));
      const ids = (records: { id: string }[]) => records.map((r) => r.id);
      expect(ids(await other.list({ limit: 10 }))).toEqual([c.id, b.id, a.id]);
      expect(ids(await other.list({ limit: 10, order: 'asc' }))).toEqual([a.id, b.id, c.id]);
      expect(ids(await other.list({ limit: 10, owner: 'alice' }))).toEqual([c.id, a.id]);
      expect(ids(await other.list({ limit: 10, owner: 'alice', purpose: 'batch' }))).toEqual([a.id]);
      expect(ids(await other.list({ limit: 1 }))).toEqual([c.id]);
      expect(ids(await other.list({ limit: 1, after: c.id }))).toEqual([b.id]);
      expect(ids(await other.list({ limit: 5, after: a.id }))).toEqual([]);
      expect(await other.list({ limit: 5, after: 'file-000000000000000000000000' })).toEqual([]);
    });

    it('removes a file for every client, once', async () => {
      const f = file();
      await save(store, f, chunks('gone soon\n'));
      expect(await other.remove(f.id)).toBe(true);
      expect(await store.remove(f.id)).toBe(false);
      expect(await store.get(f.id)).toBeUndefined();
      expect(await store.read(f.id)).toBeUndefined();
      expect(await store.remove('file-unknown')).toBe(false);
    });

    it('forgets a file once it expires', async () => {
      const f = file({ expiresAt: new Date(Date.now() + 1_000) });
      await save(store, f, chunks('short-lived\n'));
      expect(await other.get(f.id)).toBeDefined();
      await waitFor(async () => (await other.get(f.id)) === undefined, 5_000, 'the file to expire');
      expect(await other.read(f.id)).toBeUndefined();
      expect((await other.list({ limit: 100 })).map((r) => r.id)).not.toContain(f.id);
    });
  });
}
