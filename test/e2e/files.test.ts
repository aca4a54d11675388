import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * OpenAI's Files API through the official SDK: upload a batch input,
 * list, retrieve, download and delete it, as its owner; another key sees
 * nothing of it. Uploads past the size or line limit are refused while they
 * stream, and keep nothing.
 */

const ALICE = 'sk-alice-files-0123456789';
const BOB = 'sk-bob-files-0123456789';

const lines = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ custom_id: `req-${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'tiny-bert', input: `text ${i}` } })).join('\n') + '\n';

describe('the Files API', () => {
  let dir: string;
  let t: TestService;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'files-api-'));
    await writeFile(join(dir, 'keys.yaml'), `keys:\n  - { name: alice, key: ${ALICE} }\n  - { name: bob, key: ${BOB} }\n`);
    t = await startTestService({ listen: true, env: { API_KEYS_FILE: join(dir, 'keys.yaml'), FILES_MAX_BYTES: '100000', FILES_MAX_LINES: '500' } });
    base = `http://127.0.0.1:${t.service.port}`;
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (apiKey: string) => new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });

  it('uploads, lists, retrieves, downloads and deletes a batch input with the official SDK', async () => {
    const content = lines(50);
    const alice = client(ALICE);
    const file = await alice.files.create({ file: await toFile(Buffer.from(content), 'corpus.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'corpus.jsonl', bytes: Buffer.byteLength(content) });
    expect(file.id).toMatch(/^file-[0-9a-f]{32}$/);
    expect(file.expires_at! - file.created_at).toBe(2_592_000);

    expect(await alice.files.retrieve(file.id)).toEqual(file);
    const listed = await alice.files.list({ purpose: 'batch' });
    expect(listed.data.map((f) => f.id)).toContain(file.id);
    expect(await (await alice.files.content(file.id)).text()).toBe(content);

    // Another key: the file does not exist for it.
    const bob = client(BOB);
    await expect(bob.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(bob.files.content(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(bob.files.delete(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await bob.files.list()).data.map((f) => f.id)).not.toContain(file.id);

    expect(await alice.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(alice.files.retrieve(file.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('takes expires_after, and pages a listing with after and limit', async () => {
    const alice = client(ALICE);
    const made = [];
    for (let i = 0; i < 3; i++) {
      made.push(await alice.files.create({ file: await toFile(Buffer.from(lines(1)), `f${i}.jsonl`), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 3600 } }));
    }
    expect(made[0]!.expires_at! - made[0]!.created_at).toBe(3600);
    const first = await alice.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual([made[2]!.id, made[1]!.id]);
    expect(first.has_more).toBe(true);
    const rest = await alice.files.list({ limit: 2, after: made[1]!.id });
    expect(rest.data.map((f) => f.id)).toEqual([made[0]!.id]);
  });

  it('refuses, in OpenAI’s error shape and keeping nothing: too many bytes, too many lines, another purpose, no file', async () => {
    const alice = client(ALICE);
    const before = (await alice.files.list()).data.length;
    const refuse = async (upload: Promise<unknown>, status: number, code: string) => {
      const error = (await upload.catch((e: unknown) => e)) as { status?: number; code?: string };
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error).toMatchObject({ status, code });
    };
    await refuse(alice.files.create({ file: await toFile(Buffer.alloc(150_000, 'x'), 'big.jsonl'), purpose: 'batch' }), 413, 'payload_too_large');
    await refuse(alice.files.create({ file: await toFile(Buffer.from('{}\n'.repeat(501)), 'long.jsonl'), purpose: 'batch' }), 413, 'payload_too_large');
    await refuse(alice.files.create({ file: await toFile(Buffer.from('{}\n'.repeat(499) + '{}'.padEnd(20, ' ') + '\n{}'), 'edge.jsonl'), purpose: 'batch' }), 413, 'payload_too_large');
    await refuse(alice.files.create({ file: await toFile(Buffer.from(lines(1)), 'x.jsonl'), purpose: 'fine-tune' }), 400, 'invalid_parameter');
    const form = new FormData();
    form.set('purpose', 'batch');
    const noFile = await fetch(`${base}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: form });
    expect(noFile.status).toBe(422);
    expect(await noFile.json()).toMatchObject({ error: { code: 'validation_failed', param: 'file' } });
    const notMultipart = await fetch(`${base}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' }, body: '{}' });
    expect(notMultipart.status).toBe(400);
    expect((await alice.files.list()).data.length).toBe(before);
  });
});
