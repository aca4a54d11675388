import * as ort from 'onnxruntime-node';
import OpenAI from 'openai';
import { Tokenizer } from 'tokenizers';
import { describe, expect, it } from 'vitest';
import { readSentenceTransformersFolder } from '../../src/adapters/onnx/sentence-transformers-folder.js';
import { startedForTests, type TestService } from '../support/service.js';

/*
 * A text longer than its model reads (tiny-bert: 32 tokens), on the routes
 * that take OpenAI's request: cut and marked `truncated` with the tokens it
 * lost, refused with `long_text: error`, or embedded whole with `pool` and
 * `chunks`; a model's `long_text` deciding when the request does not. The
 * OpenAI SDK reads the extended answer as any. Run on the in-memory
 * adapters and on RabbitMQ and Redis.
 *
 * `start` must start the service listening, `withStrictCopy`, with
 * MAX_TEXT_TOKENS=200.
 */


export function longTextBehaviour(name: string, start: () => Promise<TestService>, { skip = false } = {}): void {
  describe.skipIf(skip)(`long texts: ${name}`, () => {
    const served = startedForTests(start);

    /** About 150 tokens of plain words (one token each), unlike from start to end. */
    const DOC = Array.from({ length: 150 }, (_, i) => ['cats', 'sleep', 'in', 'the', 'sun', 'while', 'dogs', 'run', 'far', 'away', 'from', 'home'][(i * 7) % 12]).join(' ');

    interface Chunk {
      embedding: number[];
      start: number | null;
      end: number | null;
      tokens: number;
    }

    const cosine = (a: readonly number[], b: readonly number[]) => {
      const dot = a.reduce((sum, x, i) => sum + x * b[i]!, 0);
      return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
    };

    /**
     * What `pool` should give, computed apart from the service: the text's token
     * ids cut into windows of 30 (tiny-bert's 32 less [CLS] and [SEP]), each
     * wrapped and run through onnxruntime alone, mean-pooled, then averaged
     * weighted by each window's tokens, and scaled to unit length as the model's
     * Normalize module does. Also the windows' token counts.
     */
    async function pooledByHand(text: string, overlap: number): Promise<{ vector: number[]; counts: number[] }> {
      const folder = await readSentenceTransformersFolder(served.t.config.ml.models.find((m) => m.id === 'tiny-bert')!.path!);
      const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
      tokenizer.disableTruncation();
      const ids = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
      const session = await ort.InferenceSession.create(folder.modelFile);
      const windows: number[][] = [];
      for (let start = 0; ; start += 30 - overlap) {
        windows.push([101, ...ids.slice(start, start + 30), 102]);
        if (start + 30 >= ids.length) break;
      }
      const pooled: number[][] = [];
      for (const window of windows) {
        const tensor = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
        const output = await session.run({ input_ids: tensor(window), attention_mask: tensor(window.map(() => 1)), token_type_ids: tensor(window.map(() => 0)) });
        const hidden = output[session.outputNames[0]!]!.data as Float32Array;
        const size = hidden.length / window.length;
        pooled.push(Array.from({ length: size }, (_, d) => window.reduce((sum, _id, t) => sum + hidden[t * size + d]!, 0) / window.length));
      }
      await session.release();
      const total = windows.reduce((sum, w) => sum + w.length, 0);
      const mean = pooled[0]!.map((_, d) => pooled.reduce((sum, v, w) => sum + v[d]! * (windows[w]!.length / total), 0));
      const length = Math.sqrt(mean.reduce((sum, x) => sum + x * x, 0));
      return { vector: folder.normalize ? mean.map((x) => x / length) : mean, counts: windows.map((w) => w.length) };
    }

    /** Longer than tiny-bert's 32 tokens. */
    const LONG = `the cat sat on the mat in the morning sun ${'and then it slept '.repeat(6)}until the dog barked loudly at the mailman outside`;

    /** Tokens tiny-bert's tokenizer makes of `text`, special tokens included (TEI's /tokenize). */
    async function tokensOf(text: string): Promise<number> {
      const [tokens] = (await (await served.t.post('/tokenize', { inputs: text })).json()) as unknown[][];
      return tokens!.length;
    }

    describe('a text longer than the model reads', () => {
      it('is cut at its end by default, and the answer says so, with the tokens it lost (POST /v1/embeddings, and the OpenAI SDK)', async () => {
        const dropped = (await tokensOf(LONG)) - 32;
        expect(dropped).toBeGreaterThan(10);
        const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: [LONG, 'short'] });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { data: Record<string, unknown>[]; usage: { prompt_tokens: number } };
        expect(body.data[0]).toMatchObject({ index: 0, truncated: true, dropped_tokens: dropped });
        expect(body.data[1]).not.toHaveProperty('truncated');
        expect(body.data[1]).not.toHaveProperty('dropped_tokens');
        // usage counts what the model saw.
        expect(body.usage.prompt_tokens).toBe(32 + (await tokensOf('short')));

        const client = new OpenAI({ baseURL: `${served.base}/v1`, apiKey: 'unused' });
        const sdk = await client.embeddings.create({ model: 'tiny-bert', input: [LONG], encoding_format: 'float' });
        expect(sdk.data[0]!.embedding).toHaveLength(32);
        expect(sdk.data[0]).toMatchObject({ truncated: true, dropped_tokens: dropped });
      });

      it('is marked the same in a task’s result (the task API)', async () => {
        const accepted = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input: ['short', LONG] })).json()) as { id: string };
        const task = (await (await served.t.get(`/v1/embeddings/tasks/${accepted.id}?wait=10`)).json()) as { status: string; result: { data: Record<string, unknown>[] } };
        expect(task.status).toBe('succeeded');
        expect(task.result.data[0]).not.toHaveProperty('truncated');
        expect(task.result.data[1]).toMatchObject({ truncated: true, dropped_tokens: (await tokensOf(LONG)) - 32 });
      });

      it('is refused with long_text: error, naming the text, its tokens and the model’s limit (422, OpenAI’s shape)', async () => {
        const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: ['short', LONG], long_text: 'error' });
        expect(response.status).toBe(422);
        const { error } = (await response.json()) as { error: { message: string; param: string; code: string } };
        expect(error).toMatchObject({ param: 'input[1]', code: 'validation_failed' });
        expect(error.message).toContain(`this text takes ${await tokensOf(LONG)} tokens`);
        expect(error.message).toContain('at most 32');
        // A text that fits is embedded as ever.
        expect((await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: 'short', long_text: 'error' })).status).toBe(200);
      });

      it('follows the model’s long_text when the request does not say, and the request when it does; TEI’s /info reports it', async () => {
        const refused = await served.t.post('/v1/embeddings', { model: 'tiny-bert-strict', input: LONG });
        expect(refused.status).toBe(422);
        const cut = await served.t.post('/v1/embeddings', { model: 'tiny-bert-strict', input: LONG, long_text: 'truncate' });
        expect(cut.status).toBe(200);
        expect(((await cut.json()) as { data: Record<string, unknown>[] }).data[0]).toMatchObject({ truncated: true });
        // TEI's routes read the same setting: truncate absent follows it, truncate: true overrides it.
        expect((await served.t.post('/tei/tiny-bert-strict/embed', { inputs: LONG })).status).toBe(422);
        expect((await served.t.post('/tei/tiny-bert-strict/embed', { inputs: LONG, truncate: true })).status).toBe(200);
        expect(await (await served.t.get('/tei/tiny-bert-strict/info')).json()).toMatchObject({ auto_truncate: false });
        expect(await (await served.t.get('/tei/tiny-bert/info')).json()).toMatchObject({ auto_truncate: true });
        // The task API too: the task fails for its input, naming it.
        const accepted = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert-strict', input: LONG })).json()) as { id: string };
        const task = (await (await served.t.get(`/v1/embeddings/tasks/${accepted.id}?wait=10`)).json()) as { status: string; error: string };
        expect(task.status).toBe('failed');
        expect(task.error).toContain('too long');
      });

      it('pool: embeds the whole text, as the weighted mean of its windows that raw onnxruntime gives, billing every window', async () => {
        for (const overlap of [0, 7]) {
          const expected = await pooledByHand(DOC, overlap);
          expect(expected.counts.length).toBeGreaterThan(4);
          const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: [DOC, 'short'], long_text: 'pool', ...(overlap > 0 && { chunk_overlap_tokens: overlap }) });
          expect(response.status).toBe(200);
          const body = (await response.json()) as { data: { embedding: number[]; truncated?: true }[]; usage: { prompt_tokens: number } };
          body.data[0]!.embedding.forEach((x, d) => expect(x).toBeCloseTo(expected.vector[d]!, 5));
          expect(body.data[0]).not.toHaveProperty('truncated');
          expect(body.usage.prompt_tokens).toBe(expected.counts.reduce((a, b) => a + b, 0) + (await tokensOf('short')));
          // A text that fits is embedded as ever.
          expect(body.data[1]!.embedding).toEqual(((await (await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: 'short' })).json()) as { data: { embedding: number[] }[] }).data[0]!.embedding);
        }
      });

      it('chunks: each window’s vector with its place in the text, which re-embedded gives the same vector, beside the pooled one', async () => {
        const input = `  ${DOC.replace('sun', 'sün')} 😀 the end`;
        const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: [input, 'short'], long_text: 'chunks', chunk_overlap_tokens: 4 });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { data: { embedding: number[]; chunks: Chunk[] }[] };
        const { chunks } = body.data[0]!;
        expect(chunks.length).toBeGreaterThan(4);
        const pooled = ((await (await served.t.post('/v1/embeddings', { model: 'tiny-bert', input, long_text: 'pool', chunk_overlap_tokens: 4 })).json()) as { data: { embedding: number[] }[] }).data[0]!.embedding;
        expect(body.data[0]!.embedding).toEqual(pooled);
        for (const [i, chunk] of chunks.entries()) {
          expect(chunk.tokens).toBeLessThanOrEqual(32);
          const text = input.slice(chunk.start!, chunk.end!);
          expect(text.trim()).toBe(text);
          if (i > 0) expect(chunk.start!).toBeLessThan(chunks[i - 1]!.end!);
          const [again] = ((await (await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: text })).json()) as { data: { embedding: number[] }[] }).data;
          expect(cosine(again!.embedding, chunk.embedding), `chunk ${i}: ${text}`).toBeGreaterThanOrEqual(0.99);
        }
        expect(input.slice(chunks[0]!.start!, chunks.at(-1)!.end!)).toBe(input.trim());
        // A text that fits is one chunk, all of it.
        expect(body.data[1]!.chunks).toEqual([{ embedding: body.data[1]!.embedding, start: 0, end: 5, tokens: await tokensOf('short') }]);
        // With a prompt before each text ("query: "), the places are still in the text sent, which the prompt is not part of.
        const prompted = (await (await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: [input, 'short'], input_type: 'query', long_text: 'chunks', chunk_overlap_tokens: 4 })).json()) as {
          data: { chunks: Chunk[] }[];
        };
        const promptedChunks = prompted.data[0]!.chunks;
        // The first window holds the prompt and the text's start: in the text sent, it starts at its start.
        expect(promptedChunks[0]!.start).toBeLessThanOrEqual(chunks[0]!.start!);
        expect(promptedChunks.at(-1)!.end).toBe(chunks.at(-1)!.end);
        for (const [i, { start, end }] of promptedChunks.entries()) {
          if (i > 0) expect(start!).toBeGreaterThan(promptedChunks[i - 1]!.start!);
          expect(end!).toBeLessThanOrEqual(input.length);
        }
        expect(prompted.data[1]!.chunks).toMatchObject([{ start: 0, end: 5 }]);

        // The task API answers the same.
        const accepted = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input: [input], long_text: 'chunks', chunk_overlap_tokens: 4 })).json()) as { id: string };
        const task = (await (await served.t.get(`/v1/embeddings/tasks/${accepted.id}?wait=10`)).json()) as { result: { data: { chunks: Chunk[] }[] } };
        expect(task.result.data[0]!.chunks.map(({ start, end, tokens }) => [start, end, tokens])).toEqual(chunks.map(({ start, end, tokens }) => [start, end, tokens]));
      });

      it('refuses a text past max_text_tokens (413), an overlap that leaves a window nothing new (422), an unknown mode, and an overlap without windows (400)', async () => {
        const huge = `${DOC} ${DOC}`;
        const tooLong = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: ['short', huge], long_text: 'pool' });
        expect(tooLong.status).toBe(413);
        expect(((await tooLong.json()) as { error: { message: string; param: string } }).error).toMatchObject({ param: 'input[1]', message: expect.stringContaining('at most 200') });
        // Cut, the same text is fine: the bound is on what is embedded whole.
        expect((await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: huge })).status).toBe(200);
        const overlap = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: DOC, long_text: 'chunks', chunk_overlap_tokens: 30 });
        expect(overlap.status).toBe(422);
        expect(((await overlap.json()) as { error: { param: string } }).error.param).toBe('chunk_overlap_tokens');
        const unknown = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: LONG, long_text: 'summarize' });
        expect(unknown.status).toBe(422);
        expect(((await unknown.json()) as { error: { param: string } }).error.param).toBe('long_text');
        const stray = await served.t.post('/v1/embeddings', { model: 'tiny-bert', input: LONG, chunk_overlap_tokens: 3 });
        expect(stray.status).toBe(400);
        expect(((await stray.json()) as { error: { param: string } }).error.param).toBe('chunk_overlap_tokens');
      });
    });
  });
}
