import { createRequire } from 'node:module';
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { CohereClientV2, CohereError } from 'cohere-ai';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { relevanceScore } from '../../src/domain/index.js';
import type { TestService } from '../support/service.js';

/** Cohere's v1 client as LangChain builds it: the cohere-ai that @langchain/cohere itself resolves (it pins its own major). */
type LangChainsClient = NonNullable<NonNullable<ConstructorParameters<typeof CohereRerank>[0]>['client']>;
const LangChainsCohereClient = createRequire(createRequire(import.meta.url).resolve('@langchain/cohere'))('cohere-ai').CohereClient as new (options: {
  token: string;
  environment: string;
}) => LangChainsClient;

/*
 * A reranker (a cross-encoder) configured beside the embedding models: it is
 * loaded, listed with its kind, counted in readiness, refused by the
 * embedding routes with a 4xx that names its kind, and serves the three
 * rerank routes through its queue and a worker, with the scores the model
 * itself gives. Run on the in-memory adapters and on RabbitMQ and Redis.
 *
 * `start` must start the service listening, with `withReranker` and
 * MAX_DOCUMENTS=5.
 */
export function rerankApiBehaviour(name: string, start: () => Promise<TestService>, { skip = false } = {}): void {
  describe.skipIf(skip)(`reranking: ${name}`, () => {
    let t: TestService;
    let reference: OnnxReranker;
    beforeAll(async () => {
      t = await start();
      await t.service.modelsSettled;
      reference = await OnnxReranker.load({ id: 'reference', path: t.config.ml.models.find((m) => m.id === 'tiny-reranker')!.path!, intraOpThreads: 1 });
    }, 60_000);
    afterAll(async () => {
      await reference?.close();
      await t?.stop();
    });

    const QUERY = 'where do cats sleep?';
    const DOCUMENTS = ['cats sleep in the sun', 'the stock market fell', 'a cat naps on the sofa', 'bananas are yellow'];

    interface Answer {
      id: string;
      model: string;
      usage: { prompt_tokens: number; total_tokens: number };
      results: { index: number; relevance_score: number; document?: { text: string } }[];
    }

    describe('POST /v1/rerank (Jina’s and vLLM’s shape)', () => {
      it('scores every document as the model does, best first, each with its index and text, and counts the pairs’ tokens', async () => {
        const response = await t.post('/v1/rerank', { model: 'tiny-reranker', query: QUERY, documents: DOCUMENTS });
        expect(response.status).toBe(200);
        const body = (await response.json()) as Answer;
        const pairs = await reference.tokenizePairs(QUERY, DOCUMENTS);
        const logits = await reference.scoreTokenized(pairs);
        const expected = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score);
        expect(body.model).toBe('tiny-reranker');
        expect(body.results.map((r) => r.index)).toEqual(expected.map((e) => e.index));
        body.results.forEach((r, i) => {
          expect(r.relevance_score).toBeCloseTo(expected[i]!.score, 5);
          expect(r.document).toEqual({ text: DOCUMENTS[r.index] });
        });
        const tokens = pairs.reduce((sum, p) => sum + p.ids.length, 0);
        expect(body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
        // The answer's id names the call that ran it; a synchronous request keeps no task record.
        expect((await t.get(`/v1/embeddings/tasks/${body.id}`)).status).toBe(404);
      });

      it('takes documents as { text } objects, cuts to top_n, leaves the text out on request, gives logits with raw_scores, and serves the default reranker', async () => {
        const all = (await (await t.post('/v1/rerank', { query: QUERY, documents: DOCUMENTS.map((text) => ({ text })), raw_scores: true })).json()) as Answer;
        expect(all.model).toBe('tiny-reranker');
        const logits = await reference.scoreTokenized(await reference.tokenizePairs(QUERY, DOCUMENTS));
        all.results.forEach((r) => expect(r.relevance_score).toBeCloseTo(logits[r.index]![0]!, 4));
        const top = (await (await t.post('/v1/rerank', { query: QUERY, documents: DOCUMENTS, top_n: 2, return_documents: false })).json()) as Answer;
        expect(top.results).toHaveLength(2);
        expect(top.results.map((r) => r.index)).toEqual(all.results.slice(0, 2).map((r) => r.index));
        expect(top.results.every((r) => r.document === undefined)).toBe(true);
      });

      it('honours max_tokens_per_doc: each document is cut to that many tokens first', async () => {
        const long = 'a document long enough to be cut down to a handful of its tokens';
        const cut = (await (await t.post('/v1/rerank', { query: 'q', documents: [long], max_tokens_per_doc: 3 })).json()) as Answer;
        const [pair] = await reference.tokenizePairs('q', [long], { maxDocumentTokens: 3 });
        expect(cut.usage.prompt_tokens).toBe(pair!.ids.length);
      });

      it.each([
        ['an empty query', { query: '', documents: ['a'] }, 422, 'validation_failed'],
        ['no documents', { query: 'q', documents: [] }, 422, 'validation_failed'],
        ['an empty document', { query: 'q', documents: ['a', ''] }, 422, 'validation_failed'],
        ['more documents than MAX_DOCUMENTS', { query: 'q', documents: ['a', 'b', 'c', 'd', 'e', 'f'] }, 413, 'payload_too_large'],
        ['a document that is neither text nor { text }', { query: 'q', documents: [42] }, 422, 'validation_failed'],
        ['top_n of 0', { query: 'q', documents: ['a'], top_n: 0 }, 422, 'validation_failed'],
        ['an embedding model', { model: 'tiny-bert', query: 'q', documents: ['a'] }, 400, 'invalid_parameter'],
        ['a model that does not exist', { model: 'nope', query: 'q', documents: ['a'] }, 404, 'model_not_found'],
      ])('refuses %s with %i %s, in OpenAI’s error shape', async (_name, body, status, code) => {
        const response = await t.post('/v1/rerank', body);
        expect(response.status).toBe(status);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      });
    });

    describe('the Batch API, with lines calling /v1/rerank', () => {
      interface OutputLine {
        custom_id: string | null;
        response: { status_code: number; body: Record<string, unknown> } | null;
        error: unknown;
      }
      const line = (customId: string, body: unknown, url = '/v1/rerank') => JSON.stringify({ custom_id: customId, method: 'POST', url, body });
      const client = () => new OpenAI({ baseURL: `http://127.0.0.1:${t.service.port}/v1`, apiKey: 'unused', maxRetries: 0 });
      const lines = async (fileId: string | null | undefined): Promise<OutputLine[]> =>
        fileId ? (await (await client().files.content(fileId)).text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutputLine) : [];

      it('answers each line as POST /v1/rerank answers its body, on the bulk lane; bad lines in the error file with the route’s status', async () => {
        const good: [string, Record<string, unknown>][] = [
          ['plain', { model: 'tiny-reranker', query: QUERY, documents: DOCUMENTS }],
          ['default-model', { query: 'what is yellow?', documents: DOCUMENTS.map((text) => ({ text })) }],
          ['top-2-no-text', { query: QUERY, documents: DOCUMENTS, top_n: 2, return_documents: false }],
          ['raw', { query: QUERY, documents: DOCUMENTS.slice(0, 2), raw_scores: true }],
          ['cut', { query: QUERY, documents: DOCUMENTS, max_tokens_per_doc: 2 }],
          ...Array.from({ length: 12 }, (_, i): [string, Record<string, unknown>] => [`more-${i}`, { query: `question ${i}`, documents: [`answer ${i}`, 'unrelated', `another answer ${i}`] }]),
        ];
        const bad: [string, string, number][] = [
          ['embedding-model', line('embedding-model', { model: 'tiny-bert', query: 'q', documents: ['a'] }), 400],
          ['no-such-model', line('no-such-model', { model: 'nope', query: 'q', documents: ['a'] }), 404],
          ['empty-query', line('empty-query', { query: '', documents: ['a'] }), 422],
          ['too-many', line('too-many', { query: 'q', documents: ['a', 'b', 'c', 'd', 'e', 'f'] }), 413],
          ['embeddings-url', line('embeddings-url', { input: 'x' }, '/v1/embeddings'), 422],
        ];
        const content = [...good.slice(0, 8).map(([id, body]) => line(id, body)), ...bad.map(([, text]) => text), ...good.slice(8).map(([id, body]) => line(id, body))].join('\n');
        const file = await client().files.create({ file: await toFile(Buffer.from(content), 'rerank.jsonl'), purpose: 'batch' });
        const created = await client().batches.create({ input_file_id: file.id, endpoint: '/v1/rerank' as '/v1/embeddings', completion_window: '24h' });
        expect(created.endpoint).toBe('/v1/rerank');
        let done = created;
        for (let i = 0; i < 600 && !['completed', 'failed', 'expired', 'cancelled'].includes(done.status); i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          done = await client().batches.retrieve(created.id);
        }
        expect(done.status).toBe('completed');
        expect(done.request_counts).toEqual({ total: good.length + bad.length, completed: good.length, failed: bad.length });

        const output = await lines(done.output_file_id);
        expect(output.map((o) => o.custom_id)).toEqual(good.map(([id]) => id));
        for (const [i, answer] of output.entries()) {
          const sync = (await (await t.post('/v1/rerank', good[i]![1])).json()) as Answer;
          const body = answer.response!.body as unknown as Answer;
          expect(answer.response!.status_code).toBe(200);
          expect(body.model).toBe(sync.model);
          expect(body.usage).toEqual(sync.usage);
          expect(body.results.map((r) => [r.index, r.document])).toEqual(sync.results.map((r) => [r.index, r.document]));
          body.results.forEach((r, j) => expect(r.relevance_score).toBeCloseTo(sync.results[j]!.relevance_score, 5));
          // Its id is the task that ran it, as the route's is: a bulk task of its own.
          expect(await (await t.get(`/v1/embeddings/tasks/${body.id}`)).json()).toMatchObject({ status: 'succeeded', model: 'tiny-reranker' });
        }
        const errors = await lines(done.error_file_id);
        expect(errors.map((e) => [e.custom_id, e.response!.status_code])).toEqual(bad.map(([id, , status]) => [id, status]));
        expect(errors[0]!.response!.body).toEqual(await (await t.post('/v1/rerank', { model: 'tiny-bert', query: 'q', documents: ['a'] })).json());
      });

      it('refuses a batch for an endpoint it does not run, naming those it does', async () => {
        const file = await client().files.create({ file: await toFile(Buffer.from(line('a', { query: 'q', documents: ['a'] })), 'x.jsonl'), purpose: 'batch' });
        const refused = await client()
          .batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })
          .catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
        expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("'/v1/rerank'");
      });
    });

    describe('a configured reranker', () => {
      it('is loaded and listed with its kind, length and labels; embedding models with theirs', async () => {
        const { data } = (await (await t.get('/v1/models')).json()) as { data: Record<string, unknown>[] };
        expect(data.find((m) => m.id === 'tiny-reranker')).toMatchObject({
          kind: 'reranker',
          engine: 'onnx',
          max_tokens: 32,
          labels: 1,
          dimensions: null,
          pooling: null,
          loaded: true,
          default: false,
        });
        expect(data.find((m) => m.id === 'tiny-bert')).toMatchObject({ kind: 'embedding', labels: null, dimensions: 32, default: true });
        expect(await (await t.get('/v1/models/tiny-reranker')).json()).toMatchObject({ kind: 'reranker' });
      });

      it('counts in readiness like any model', async () => {
        const ready = (await (await t.get('/health/ready')).json()) as { checks: Record<string, { status: string }> };
        expect(ready.checks['model:tiny-reranker']).toEqual({ status: 'ok' });
      });

      it('is refused by the embedding routes with 400 naming its kind, in each route’s error shape', async () => {
        const sync = await t.post('/v1/embeddings', { model: 'tiny-reranker', input: 'hello' });
        expect(sync.status).toBe(400);
        expect(await sync.json()).toEqual({
          error: expect.objectContaining({
            code: 'invalid_parameter',
            param: 'model',
            message: expect.stringContaining("Model 'tiny-reranker' is a reranker; this route takes an embedding model."),
          }),
        });
        const task = await t.post('/v1/embeddings/tasks', { model: 'tiny-reranker', input: 'hello' });
        expect(task.status).toBe(400);
        expect(task.headers.get('content-type')).toMatch(/application\/problem\+json/);
        expect(await task.json()).toMatchObject({ code: 'invalid_parameter', detail: expect.stringContaining('is a reranker') });
      });
    });

    describe('POST /v2/rerank with the official cohere-ai SDK (CohereClientV2.rerank)', () => {
      const client = () => new CohereClientV2({ token: 'not-checked', baseUrl: `http://127.0.0.1:${t.service.port}` });

      it('answers what the SDK reads: results best first, cut to topN, with Cohere’s meta', async () => {
        const response = await client().rerank({ model: 'tiny-reranker', query: QUERY, documents: DOCUMENTS, topN: 3 });
        const logits = await reference.scoreTokenized(await reference.tokenizePairs(QUERY, DOCUMENTS));
        const expected = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score);
        expect(response.results.map((r) => r.index)).toEqual(expected.slice(0, 3).map((e) => e.index));
        response.results.forEach((r, i) => expect(r.relevanceScore).toBeCloseTo(expected[i]!.score, 5));
        expect(response.meta?.billedUnits?.searchUnits).toBe(1);
        expect(response.id).toBeTruthy();
      });

      it('refuses as Cohere does, with { message }: the SDK raises its error with the status', async () => {
        const failure = (await client()
          .rerank({ model: 'tiny-bert', query: QUERY, documents: DOCUMENTS })
          .catch((error: unknown) => error)) as CohereError;
        expect(failure).toBeInstanceOf(CohereError);
        expect(failure.statusCode).toBe(400);
        expect(failure.body).toEqual({ message: expect.stringContaining("Model 'tiny-bert' is an embedding model; this route takes a reranker."), code: 'invalid_parameter' });
        const empty = await t.post('/v2/rerank', { model: 'tiny-reranker', query: '', documents: DOCUMENTS });
        expect(empty.status).toBe(422);
        expect(await empty.json()).toEqual({ message: expect.stringContaining('query'), code: 'validation_failed' });
      });
    });

    describe('POST /v1/rerank with LangChain JS’s CohereRerank (Cohere’s v1 client)', () => {
      it('reranks LangChain documents: the best topN, each with its relevanceScore', async () => {
        const client = new LangChainsCohereClient({ token: 'not-checked', environment: `http://127.0.0.1:${t.service.port}` });
        const reranker = new CohereRerank({ client, model: 'tiny-reranker', topN: 2 });
        const documents = DOCUMENTS.map((pageContent) => new Document({ pageContent }));
        const kept = await reranker.compressDocuments(documents, QUERY);
        const logits = await reference.scoreTokenized(await reference.tokenizePairs(QUERY, DOCUMENTS));
        const expected = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score);
        expect(kept.map((d) => d.pageContent)).toEqual(expected.slice(0, 2).map((e) => DOCUMENTS[e.index]));
        kept.forEach((d, i) => expect(d.metadata.relevanceScore).toBeCloseTo(expected[i]!.score, 5));
        expect(await reranker.rerank(DOCUMENTS, QUERY)).toEqual(expected.slice(0, 2).map((e) => ({ index: e.index, relevanceScore: expect.closeTo(e.score, 5) })));
      });
    });

    describe('POST /rerank (text-embeddings-inference’s shape, as TEI clients send it)', () => {
      const tei = (body: unknown) => fetch(`http://127.0.0.1:${t.service.port}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

      it('serves the default reranker: [{ index, score }] best first, with the text and raw logits on request', async () => {
        // LlamaIndex's TEI reranker and Haystack's HuggingFaceTEIRanker send query and texts (Haystack also raw_scores and truncate).
        const plain = (await (await tei({ query: QUERY, texts: DOCUMENTS })).json()) as { index: number; score: number; text?: string }[];
        const logits = await reference.scoreTokenized(await reference.tokenizePairs(QUERY, DOCUMENTS));
        const expected = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score);
        expect(plain.map((r) => r.index)).toEqual(expected.map((e) => e.index));
        plain.forEach((r, i) => {
          expect(r.score).toBeCloseTo(expected[i]!.score, 5);
          expect(r.text).toBeUndefined();
        });
        const raw = (await (await tei({ query: QUERY, texts: DOCUMENTS, raw_scores: true, return_text: true, truncate: false })).json()) as { index: number; score: number; text: string }[];
        raw.forEach((r) => {
          expect(r.score).toBeCloseTo(logits[r.index]![0]!, 4);
          expect(r.text).toBe(DOCUMENTS[r.index]);
        });
      });

      it('answers the requests LlamaIndex’s and Haystack’s TEI rerankers send, as they read them', async () => {
        const logits = await reference.scoreTokenized(await reference.tokenizePairs(QUERY, DOCUMENTS));
        const order = logits.map((row, index) => ({ index, score: relevanceScore(row) })).sort((a, b) => b.score - a.score).map((e) => e.index);
        // llama-index-postprocessor-tei-rerank (TextEmbeddingsInferenceRerank._rerank_single_batch): `raw_score` is its spelling, which TEI ignores.
        const llamaIndex = (await (await tei({ query: QUERY, texts: DOCUMENTS, truncate: true, raw_score: false, return_text: false })).json()) as { index: number; score: number }[];
        expect(llamaIndex.map((r) => r.index)).toEqual(order);
        // Haystack's HuggingFaceTEIRanker.run, with a truncation_direction given (TruncationDirection.LEFT's value).
        const haystack = (await (await tei({ query: QUERY, texts: DOCUMENTS, raw_scores: false, truncate: true, truncation_direction: 'Left' })).json()) as { index: number; score: number }[];
        expect(haystack.map((r) => r.index)).toEqual(order);
        expect(haystack.every((r) => typeof r.score === 'number')).toBe(true);
      });

      it('serves the same under the reranker’s own base URL, /tei/{model}: /rerank, its root route, and /info', async () => {
        const post = (path: string, body: unknown) => fetch(`http://127.0.0.1:${t.service.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const body = { query: QUERY, texts: DOCUMENTS, return_text: true };
        const atRoot = (await (await tei(body)).json()) as { index: number; score: number }[];
        const scores = (answer: { index: number; score: number }[]) => answer.map((r) => [r.index, Number(r.score.toFixed(5))]);
        for (const path of ['/tei/tiny-reranker/rerank', '/tei/tiny-reranker']) {
          const response = await post(path, body);
          expect(response.status, path).toBe(200);
          expect(scores((await response.json()) as { index: number; score: number }[]), path).toEqual(scores(atRoot));
        }
        // A reranker's root route reads /rerank's body, and says so when given /embed's.
        const wrong = await post('/tei/tiny-reranker', { inputs: 'x' });
        expect(wrong.status).toBe(422);
        expect(await wrong.json()).toMatchObject({ error: expect.stringMatching(/query.*texts|texts.*query/s), error_type: 'Validation' });
        const info = (await (await fetch(`http://127.0.0.1:${t.service.port}/tei/tiny-reranker/info`)).json()) as Record<string, unknown>;
        expect(info).toMatchObject({ model_id: 'tiny-reranker', model_type: { reranker: { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } } }, max_input_length: 32 });
      });

      it('cuts a text too long for the model unless truncate is false (TEI’s auto_truncate, true by default, as /info says), which refuses it in TEI’s error shape', async () => {
        const long = 'a text far longer than the thirty-two tokens this reranker takes, so that it must be cut or refused';
        const refused = await tei({ query: QUERY, texts: ['short', long], truncate: false });
        expect(refused.status).toBe(422);
        expect(await refused.json()).toEqual({ error: expect.stringContaining('documents[1]'), error_type: 'Validation', code: 'validation_failed' });
        expect((await tei({ query: QUERY, texts: ['short', long] })).status).toBe(200);
        const left = await tei({ query: QUERY, texts: ['short', long], truncate: true, truncation_direction: 'Left' });
        expect(left.status).toBe(200);
        // TEI's answer to nothing to rank: 400, of type Empty.
        const empty = await tei({ query: QUERY, texts: [] });
        expect(empty.status).toBe(400);
        expect(await empty.json()).toMatchObject({ error_type: 'Empty', code: 'empty_input' });
      });
    });
  });
}
