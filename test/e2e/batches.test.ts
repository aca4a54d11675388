import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * OpenAI's Batch API in the embedded mode, through the official SDK: every
 * line of the input ends up exactly once in the output or the error file,
 * each answered as POST /v1/embeddings answers the same body; a batch and
 * its files are its key's; cancel keeps what finished.
 */

const ALICE = 'sk-alice-batches-0123456789';
const BOB = 'sk-bob-batches-0123456789';

interface OutputLine {
  id: string;
  custom_id: string | null;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

/** A vector as either encoding gives it: floats, or base64 of little-endian float32. */
function floats(embedding: number[] | string): number[] {
  if (typeof embedding !== 'string') return embedding;
  const bytes = Buffer.from(embedding, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

const request = (customId: string, body: Record<string, unknown>) => JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/embeddings', body });

describe('the Batch API', () => {
  let dir: string;
  let t: TestService;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batches-api-'));
    await writeFile(join(dir, 'keys.yaml'), `keys:\n  - { name: alice, key: ${ALICE} }\n  - { name: bob, key: ${BOB} }\n`);
    t = await startTestService({ listen: true, env: { API_KEYS_FILE: join(dir, 'keys.yaml'), BATCHES_CHUNK_INPUTS: '8', BATCHES_IN_FLIGHT_CHUNKS: '2' } });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (apiKey: string) => new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });
  const upload = async (apiKey: string, content: string) => client(apiKey).files.create({ file: await toFile(Buffer.from(content), 'input.jsonl'), purpose: 'batch' });
  const until = async (apiKey: string, id: string, done: (b: OpenAI.Batch) => boolean) => {
    for (let i = 0; i < 600; i++) {
      const batch = await client(apiKey).batches.retrieve(id);
      if (done(batch)) return batch;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`batch ${id} did not get there`);
  };
  const final = (b: OpenAI.Batch) => ['completed', 'failed', 'expired', 'cancelled'].includes(b.status);
  const lines = async (apiKey: string, fileId: string | null | undefined): Promise<OutputLine[]> => {
    if (!fileId) return [];
    const text = await (await client(apiKey).files.content(fileId)).text();
    return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutputLine);
  };
  /** What the endpoint answers a body on its own. */
  const sync = async (body: unknown) => {
    const response = await fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers every line once, each as POST /v1/embeddings answers its body, bad lines in the error file with their status', async () => {
    const good = Array.from({ length: 40 }, (_, i) =>
      ({
        id: `good-${i}`,
        body:
          i % 5 === 0
            ? { model: 'tiny-bert', input: [`first of ${i}`, `second of ${i}`], encoding_format: 'base64' }
            : i % 7 === 0
              ? { input: `dims ${i}`, dimensions: 8 }
              : i % 9 === 0
                ? { input: `compact ${i}`, encoding_format: 'ubinary' }
                : i % 11 === 0
                  ? { input: [`int8 ${i}`, `more ${i}`], encoding_format: 'int8' }
                  : i % 13 === 0
                    ? { input: `prompted ${i}`, input_type: 'query' }
                    : i % 17 === 0
                      ? { input: [`short ${i}`, `a text too long for tiny-bert, number ${i}, ${'which goes on and on '.repeat(8)}`] }
                      : i % 19 === 0
                        ? { input: [`short ${i}`, `a text embedded whole in windows, number ${i}, ${'which goes on and on '.repeat(8)}`], long_text: 'chunks', chunk_overlap_tokens: 3 }
                        : i % 23 === 0
                          ? { input: `a text pooled over its windows, number ${i}, ${'which goes on and on '.repeat(8)}`, long_text: 'pool' }
                          : { model: 'tiny-bert', input: `text number ${i}` },
      }),
    );
    const bad = [
      { id: 'unknown-model', line: request('unknown-model', { model: 'no-such-model', input: 'x' }), status: 404, body: { model: 'no-such-model', input: 'x' } },
      { id: 'empty-input', line: request('empty-input', { input: [] }), status: 422, body: { input: [] } },
      { id: 'bad-dims', line: request('bad-dims', { input: 'x', dimensions: 5 }), status: 400, body: { input: 'x', dimensions: 5 } },
      { id: 'stray-overlap', line: request('stray-overlap', { input: 'x', chunk_overlap_tokens: 3 }), status: 400, body: { input: 'x', chunk_overlap_tokens: 3 } },
      { id: 'wrong-type', line: request('wrong-type', { input: 42 }), status: 422, body: { input: 42 } },
      { id: 'wrong-url', line: JSON.stringify({ custom_id: 'wrong-url', method: 'POST', url: '/v1/chat/completions', body: { input: 'x' } }), status: 422 },
      { id: 'good-3', line: request('good-3', { input: 'a second line with the same custom_id' }), status: 422 },
      // Found out by the worker, in a task shared with good lines: it fails alone.
      { id: 'unknown-token', line: request('unknown-token', { input: [[101, 102], [99_999_999]] }), status: 422, body: { input: [[101, 102], [99_999_999]] } },
      { id: null, line: 'this is not json', status: 400 },
      { id: null, line: '', status: 400 },
    ];
    // The worker's refusal comes from the middle of the file, where its chunk holds good lines too.
    const unknownToken = bad.find((b) => b.id === 'unknown-token')!;
    const goodLines = good.map((g) => request(g.id, g.body));
    const content = [...goodLines.slice(0, 20), unknownToken.line, ...goodLines.slice(20), ...bad.filter((b) => b !== unknownToken).map((b) => b.line)].join('\n') + '\n';
    const file = await upload(ALICE, content);
    const created = await client(ALICE).batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { project: 'test' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { project: 'test' } });
    expect(created.id).toMatch(/^batch_[0-9a-f]{32}$/);

    const done = await until(ALICE, created.id, final);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: good.length + bad.length, completed: good.length, failed: bad.length });
    for (const at of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(done[at]).toBeGreaterThanOrEqual(done.created_at);

    const output = await lines(ALICE, done.output_file_id);
    const errors = await lines(ALICE, done.error_file_id);
    expect(output.map((o) => o.custom_id)).toEqual(good.map((g) => g.id));
    for (const [i, line] of output.entries()) {
      expect(line.id).toMatch(/^batch_req_[0-9a-f]{32}$/);
      expect(line.error).toBeNull();
      expect(line.response!.status_code).toBe(200);
      const expected = await sync(good[i]!.body);
      const body = line.response!.body as { data: { embedding: number[] | string }[]; usage: unknown; model: string };
      const want = expected.body as typeof body;
      expect(body.model).toBe(want.model);
      expect(body.usage).toEqual(want.usage);
      expect(body.data).toHaveLength(want.data.length);
      body.data.forEach((d, j) => {
        // A text cut to fit the model is marked as the route marks it; one embedded whole has the route's windows.
        const { embedding: _got, chunks: gotChunks, ...marks } = d as { embedding: unknown; chunks?: { embedding: number[] }[] };
        const { embedding: _want, chunks: wantChunks, ...wanted } = want.data[j]! as { embedding: unknown; chunks?: { embedding: number[] }[] };
        expect(marks).toEqual(wanted);
        expect(gotChunks?.map(({ embedding: _e, ...place }) => place)).toEqual(wantChunks?.map(({ embedding: _e, ...place }) => place));
        gotChunks?.forEach((chunk, k) => chunk.embedding.forEach((v, x) => expect(v).toBeCloseTo(wantChunks![k]!.embedding[x]!, 5)));
        const got = floats(d.embedding);
        const exp = floats(want.data[j]!.embedding);
        expect(typeof d.embedding).toBe(typeof want.data[j]!.embedding);
        expect(got).toHaveLength(exp.length);
        got.forEach((v, k) => expect(v).toBeCloseTo(exp[k]!, 5));
      });
    }
    expect(output.filter((line) => (line.response!.body as { data: { truncated?: true }[] }).data.some((d) => d.truncated)).map((l) => l.custom_id)).toEqual(['good-17', 'good-34']);
    expect(output.filter((line) => (line.response!.body as { data: { chunks?: unknown[] }[] }).data.some((d) => (d.chunks?.length ?? 0) > 1)).map((l) => l.custom_id)).toEqual(['good-19', 'good-38']);
    const inFileOrder = [unknownToken, ...bad.filter((b) => b !== unknownToken)];
    expect(errors.map((e) => e.custom_id)).toEqual(inFileOrder.map((b) => b.id));
    for (const [i, line] of errors.entries()) {
      expect(line.response!.status_code, String(inFileOrder[i]!.id)).toBe(inFileOrder[i]!.status);
      const body = inFileOrder[i]!.body;
      if (body) expect(line.response!.body).toEqual((await sync(body)).body);
    }
    expect(errors.find((e) => e.custom_id === 'good-3')!.response!.body).toMatchObject({ error: { param: 'custom_id' } });

    const listed = await client(ALICE).batches.list({ limit: 100 });
    expect(listed.data.map((b) => b.id)).toContain(created.id);
  });

  it('keeps batches and their files to their key', async () => {
    const file = await upload(ALICE, request('only', { input: 'mine' }) + '\n');
    const batch = await client(ALICE).batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const bob = client(BOB);
    await expect(bob.batches.retrieve(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(bob.batches.cancel(batch.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await bob.batches.list()).data.map((b) => b.id)).not.toContain(batch.id);
    // Bob cannot run a batch over Alice's file either.
    await expect(bob.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const done = await until(ALICE, batch.id, final);
    await expect(bob.files.content(done.output_file_id!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await lines(ALICE, done.output_file_id)).map((l) => l.custom_id)).toEqual(['only']);
  });

  it('refuses a batch it cannot run, in OpenAI’s error shape', async () => {
    const alice = client(ALICE);
    const file = await upload(ALICE, request('x', { input: 'x' }) + '\n');
    const create = (body: Record<string, unknown>) => alice.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', ...body } as OpenAI.BatchCreateParams);
    await expect(create({ endpoint: '/v1/chat/completions' })).rejects.toMatchObject({ status: 400, error: { param: 'endpoint', code: 'invalid_parameter' } });
    await expect(create({ completion_window: '48h' })).rejects.toMatchObject({ status: 400, error: { param: 'completion_window' } });
    await expect(create({ input_file_id: 'file-00000000000000000000000000000000' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(create({ metadata: { webhook_url: 'ftp://nowhere' } })).rejects.toMatchObject({ status: 400 });
    await expect(create({ input_file_id: undefined })).rejects.toMatchObject({ status: 422 });
    await expect(alice.batches.retrieve('batch_none')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('pages the list newest first', async () => {
    const file = await upload(BOB, request('p', { input: 'page' }) + '\n');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client(BOB).batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' })).id);
    const first = await client(BOB).batches.list({ limit: 2 });
    expect(first.data.map((b) => b.id)).toEqual([ids[2], ids[1]]);
    expect(first.has_more).toBe(true);
    const second = await client(BOB).batches.list({ limit: 2, after: ids[1] });
    expect(second.data.map((b) => b.id)).toEqual([ids[0]]);
    expect(second.has_more).toBe(false);
  });

  it('on cancel, stops dispatching and ends cancelled with what finished; every line is in one file once', async () => {
    const n = 400;
    const content = Array.from({ length: n }, (_, i) => request(`c-${i}`, { input: `a line to cancel ${i} ${'word '.repeat(20)}` })).join('\n') + '\n';
    const file = await upload(ALICE, content);
    const batch = await client(ALICE).batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    await until(ALICE, batch.id, (b) => b.request_counts!.completed > 0);
    const cancelling = await client(ALICE).batches.cancel(batch.id);
    expect(['cancelling', 'cancelled']).toContain(cancelling.status);
    const done = await until(ALICE, batch.id, final);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).toBeGreaterThanOrEqual(done.cancelling_at!);
    const output = await lines(ALICE, done.output_file_id);
    const errors = await lines(ALICE, done.error_file_id);
    expect(output.length).toBeGreaterThan(0);
    expect(output.length).toBeLessThan(n);
    expect(done.request_counts).toEqual({ total: n, completed: output.length, failed: errors.length });
    expect(errors.every((e) => e.error?.code === 'batch_cancelled' && e.response === null)).toBe(true);
    expect([...output, ...errors].map((l) => l.custom_id).sort()).toEqual(Array.from({ length: n }, (_, i) => `c-${i}`).sort());
    await expect(client(ALICE).batches.cancel(batch.id)).resolves.toMatchObject({ status: 'cancelled' });
  });
});
