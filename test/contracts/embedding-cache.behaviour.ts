import { describe, expect, it } from 'vitest';
import { startedForTests, type TestService } from '../support/service.js';

/*
 * The embedding cache as a client meets it on the synchronous routes: a
 * text seen before is answered from the cache with the vector and usage it
 * had, only the texts not seen are embedded, every option that changes a
 * vector keys its own entries, and a caller may opt out. Run on the
 * in-memory adapters (the memory cache) and on RabbitMQ and Redis (the
 * Redis cache).
 *
 * `start` must start the service listening, with the cache on.
 */

interface EmbeddingsAnswer {
  data: { embedding: number[]; index: number }[];
  usage: { prompt_tokens: number; total_tokens: number };
}

export function embeddingCacheBehaviour(name: string, start: () => Promise<TestService>, { skip = false } = {}): void {
  describe.skipIf(skip)(`the embedding cache: ${name}`, () => {
    const served = startedForTests(start);
    let unique = 0;
    /** Texts no other test sends. */
    const fresh = (n: number) => Array.from({ length: n }, () => `a text for the cache number ${++unique} ${name}`);
    const embed = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
      const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', ...body }, headers);
      expect(response.status).toBe(200);
      return { hits: Number(response.headers.get('x-embedding-cache-hits')), body: (await response.json()) as EmbeddingsAnswer };
    };
    const submitted = () => served.t.metrics!.counter('tasks_submitted{model=tiny-bert}');
    const inferred = () => served.t.metrics!.summary('inference_batch_size{model=tiny-bert}').sum;

    it('answers texts seen before from the cache, without a task: the same vectors and usage as when they were embedded', async () => {
      const input = fresh(3);
      const first = await embed({ input });
      expect(first.hits).toBe(0);
      const tasks = submitted();
      const again = await embed({ input });
      expect(again.hits).toBe(3);
      expect(submitted()).toBe(tasks);
      expect(again.body).toEqual(first.body);
      expect(served.t.metrics!.counter('cache_hits{model=tiny-bert}')).toBeGreaterThanOrEqual(3);
    });

    it('sends only the texts it does not hold, and puts every answer back in input order', async () => {
      const [seen, ...others] = fresh(3);
      const alone = await embed({ input: [seen, ...others], cache: false });
      await embed({ input: seen });
      const texts = inferred();
      const mixed = await embed({ input: [others[0], seen, others[1]] });
      expect(mixed.hits).toBe(1);
      expect(inferred() - texts).toBe(2);
      const byIndex = mixed.body.data.map((d) => d.embedding);
      const expected = [alone.body.data[1]!.embedding, alone.body.data[0]!.embedding, alone.body.data[2]!.embedding];
      byIndex.forEach((vector, i) => vector.forEach((x, k) => expect(x).toBeCloseTo(expected[i]![k]!, 6)));
      expect(mixed.body.usage).toEqual(alone.body.usage);
    });

    it('gives the same vectors and usage with the cache as without it', async () => {
      const input = fresh(4);
      const off = await embed({ input, cache: false });
      await embed({ input });
      const on = await embed({ input });
      expect(on.hits).toBe(4);
      expect(on.body.usage).toEqual(off.body.usage);
      on.body.data.forEach((d, i) => d.embedding.forEach((x, k) => expect(x).toBeCloseTo(off.body.data[i]!.embedding[k]!, 6)));
    });

    it('never shares an entry between options that change the vector: prompt, normalisation, truncation side, long-text mode', async () => {
      const [text] = fresh(1);
      const long = `${text} ${'and then some more words '.repeat(20)}`;
      await embed({ input: text });
      expect((await embed({ input: text, input_type: 'query' })).hits).toBe(0);
      const tei = async (body: Record<string, unknown>) => {
        const response = await served.t.post('/tei/tiny-bert/embed', body);
        expect(response.status).toBe(200);
        return Number(response.headers.get('x-embedding-cache-hits'));
      };
      expect(await tei({ inputs: text, normalize: false })).toBe(0);
      expect(await tei({ inputs: text, normalize: false })).toBe(1);
      expect(await tei({ inputs: long, truncation_direction: 'Right' })).toBe(0);
      expect(await tei({ inputs: long, truncation_direction: 'Left' })).toBe(0);
      expect(await tei({ inputs: long, truncation_direction: 'Left' })).toBe(1);
      await embed({ input: long });
      expect((await embed({ input: long, long_text: 'pool' })).hits).toBe(0);
      expect((await embed({ input: long, long_text: 'pool' })).hits).toBe(1);
      expect((await embed({ input: long, long_text: 'pool', chunk_overlap_tokens: 4 })).hits).toBe(0);
    });

    it('shares entries across output sizes: the full vector is kept, and each answer shortened as it asks', async () => {
      const input = fresh(2);
      const full = await embed({ input });
      const short = await embed({ input, dimensions: 8 });
      expect(short.hits).toBe(2);
      const unshared = await embed({ input: fresh(2), dimensions: 8 });
      expect(unshared.body.data[0]!.embedding).toHaveLength(8);
      const cut = full.body.data[0]!.embedding.slice(0, 8);
      const norm = Math.hypot(...cut);
      short.body.data[0]!.embedding.forEach((x, k) => expect(x).toBeCloseTo(cut[k]! / norm, 6));
    });

    it('serves and keeps nothing for a caller who opts out, with `cache: false` or Cache-Control', async () => {
      const input = fresh(1);
      expect((await embed({ input, cache: false })).hits).toBe(0);
      expect((await embed({ input }, { 'cache-control': 'no-cache' })).hits).toBe(0);
      expect((await embed({ input }, { 'Cache-Control': 'no-store, max-age=0' })).hits).toBe(0);
      expect((await embed({ input })).hits).toBe(0);
      expect((await embed({ input }, { 'cache-control': 'no-cache' })).hits).toBe(0);
      expect((await embed({ input })).hits).toBe(1);
    });

    it('keeps no windows: a `long_text: chunks` answer is embedded each time', async () => {
      const input = `${fresh(1)[0]} ${'with many more words to cut '.repeat(20)}`;
      expect((await embed({ input, long_text: 'chunks' })).hits).toBe(0);
      expect((await embed({ input, long_text: 'chunks' })).hits).toBe(0);
    });

    it('answers a task whose every text it holds as already succeeded, without the queue; a task with any other text is queued whole', async () => {
      const input = fresh(2);
      const computed = await embed({ input });
      const tasks = submitted();
      const response = await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input });
      expect(response.status).toBe(202);
      const task = (await response.json()) as { id: string; status: string; result: EmbeddingsAnswer & { data: { embedding: number[] }[] } };
      expect(task.status).toBe('succeeded');
      expect(task.result.data.map((d) => d.embedding)).toEqual(computed.body.data.map((d) => d.embedding));
      expect(task.result.usage).toEqual(computed.body.usage);
      expect(submitted()).toBe(tasks);
      const read = (await (await served.t.get(`/v1/embeddings/tasks/${task.id}`)).json()) as { status: string };
      expect(read.status).toBe('succeeded');
      const mixed = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input: [input[0], ...fresh(1)] })).json()) as { status: string };
      expect(mixed.status).not.toBe('succeeded');
      expect(submitted()).toBe(tasks + 1);
      const optedOut = (await (await served.t.post('/v1/embeddings/tasks', { model: 'tiny-bert', input, cache: false })).json()) as { status: string };
      expect(optedOut.status).not.toBe('succeeded');
    });

    it('answers Cohere and TEI clients from the same entries as OpenAI clients', async () => {
      const [text] = fresh(1);
      await embed({ input: text });
      const tei = await served.t.post('/tei/tiny-bert/embed', { inputs: [text] });
      expect(tei.headers.get('x-embedding-cache-hits')).toBe('1');
      const cohere = await served.t.post('/v2/embed', { model: 'tiny-bert', texts: [text], embedding_types: ['float'], truncate: 'END' });
      expect(cohere.status).toBe(200);
      expect(cohere.headers.get('x-embedding-cache-hits')).toBe('1');
      expect(((await cohere.json()) as { id: string }).id).toBeTruthy();
    });
  });
}
