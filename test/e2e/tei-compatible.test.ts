import { basename, dirname } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { InferenceClient } from '@huggingface/inference';
import { HuggingFaceInferenceEmbeddings } from '@langchain/community/embeddings/hf';
import { describe, expect, it } from 'vitest';
import { serveForTests, TINY_BERT_PROMPTS } from '../support/service.js';

/*
 * text-embeddings-inference's routes, as its clients call them: Hugging
 * Face's InferenceClient (`@huggingface/inference`) and LangChain JS's
 * HuggingFaceInferenceEmbeddings, unchanged, with this service (or one of
 * its models) as the endpoint; the bodies LlamaIndex's TextEmbeddingsInference
 * and Haystack's TEI embedder send; and TEI's /similarity, /info, /tokenize
 * and /decode. The vectors are POST /v1/embeddings' for the same texts.
 */

const served = serveForTests();

const TEXTS = ['where do cats sleep', 'cats sleep in the sun'];
/** Longer than tiny-bert's 32 tokens, with a start and an end unlike each other. */
const LONG = `the cat sat on the mat in the morning sun ${'and then it slept '.repeat(6)}until the dog barked loudly at the mailman outside`;

const post = (path: string, body: unknown) => fetch(`${served.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const vectorsOf = async (path: string, body: unknown) => {
  const response = await post(path, body);
  expect(response.status, `${path}: ${JSON.stringify(body)}`).toBe(200);
  return (await response.json()) as number[][];
};
/** What POST /v1/embeddings answers for the same texts. */
const openAi = async (body: Record<string, unknown>) => {
  const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', encoding_format: 'float', ...body });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { embedding: number[] }[] }).data.map((d) => d.embedding);
};
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));

describe('Hugging Face’s clients, with this service as the endpoint', () => {
  it('@huggingface/inference featureExtraction, at the root (the default model) and at /tei/{model}', async () => {
    const expected = await openAi({ input: TEXTS });
    for (const endpointUrl of [served.base, `${served.base}/tei/tiny-bert`]) {
      const client = new InferenceClient('any-token').endpoint(endpointUrl);
      expect(await client.featureExtraction({ inputs: TEXTS }), endpointUrl).toEqual(expected);
      expect(await client.featureExtraction({ inputs: TEXTS[0]! }), endpointUrl).toEqual(expected.slice(0, 1));
    }
  });

  it('LangChain JS’s HuggingFaceInferenceEmbeddings, unchanged', async () => {
    const expected = await openAi({ input: TEXTS });
    for (const endpointUrl of [served.base, `${served.base}/tei/tiny-bert`]) {
      const embeddings = new HuggingFaceInferenceEmbeddings({ apiKey: 'any-token', model: 'tiny-bert', endpointUrl });
      expect(await embeddings.embedDocuments(TEXTS), endpointUrl).toEqual(expected);
      expect(await embeddings.embedQuery(TEXTS[1]!), endpointUrl).toEqual(expected[1]);
    }
  });

  it('the bodies LlamaIndex’s TextEmbeddingsInference (POST /embed) and Haystack’s TEI embedder (POST /, normalize false) send', async () => {
    const expected = await openAi({ input: TEXTS });
    // llama_index.embeddings.text_embeddings_inference: {"inputs": texts, "truncate": truncate_text}.
    expect(await vectorsOf('/embed', { inputs: TEXTS, truncate: true })).toEqual(expected);
    expect(await vectorsOf('/tei/tiny-bert/embed', { inputs: TEXTS, truncate: true })).toEqual(expected);
    // Haystack's HuggingFaceAPITextEmbedder through huggingface_hub: one text, with its settings beside it.
    const [pooled] = await vectorsOf('/', { inputs: TEXTS[0], truncate: true, truncation_direction: 'Right', normalize: false, prompt_name: null });
    expect(Math.abs(norm(pooled!) - 1)).toBeGreaterThan(1e-3);
    const scaled = pooled!.map((x) => x / norm(pooled!));
    scaled.forEach((x, i) => expect(x).toBeCloseTo(expected[0]![i]!, 5));
  });
});

describe('POST /embed', () => {
  it('applies a prompt by name, shortens to dimensions, and takes token ids', async () => {
    expect(await vectorsOf('/embed', { inputs: TEXTS, prompt_name: 'query' })).toEqual(await openAi({ input: TEXTS.map((text) => TINY_BERT_PROMPTS.query + text) }));
    expect(await vectorsOf('/embed', { inputs: TEXTS, dimensions: 8 })).toEqual(await openAi({ input: TEXTS, dimensions: 8 }));
    const ids = [[2023, 2003], [2178]];
    expect(await vectorsOf('/embed', { inputs: ids })).toEqual(await openAi({ input: ids }));
    expect(await vectorsOf('/embed', { inputs: ids[0] })).toEqual(await openAi({ input: [ids[0]] }));
  });

  it('cuts a long text at its end by default, at its start when asked, and refuses it with truncate: false (422, TEI’s shape)', async () => {
    const [end] = await vectorsOf('/embed', { inputs: LONG });
    expect([end]).toEqual(await openAi({ input: LONG }));
    const [start] = await vectorsOf('/embed', { inputs: LONG, truncation_direction: 'left' });
    expect(start).not.toEqual(end);
    const refused = await post('/embed', { inputs: ['short', LONG], truncate: false });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/input\[1\].*tokens/), error_type: 'Validation', code: 'validation_failed' });
  });

  it('answers what it refuses in TEI’s shape and statuses', async () => {
    const cases: [unknown, number, string, RegExp][] = [
      [{ inputs: [] }, 400, 'Empty', /inputs/],
      [{ inputs: ['fine', ''] }, 400, 'Empty', /empty/],
      [{ inputs: TEXTS, prompt_name: 'nope' }, 400, 'Validation', /query.*passage/],
      [{ inputs: TEXTS, dimensions: 5 }, 400, 'Validation', /16, 8/],
      [{ texts: TEXTS }, 422, 'Validation', /inputs/],
    ];
    for (const [body, status, errorType, message] of cases) {
      const response = await post('/embed', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(await response.json(), JSON.stringify(body)).toMatchObject({ error: expect.stringMatching(message), error_type: errorType });
    }
    const unknown = await post('/tei/no-such-model/embed', { inputs: 'x' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error_type: 'Validation', code: 'model_not_found' });
  });

  it('bounds `inputs` as OpenAI’s route bounds `input`: many token ids pass, too many texts are refused cheaply, naming `inputs`', async () => {
    const ids = Array.from({ length: 48 }, () => Array.from({ length: 250 }, (_, i) => 2000 + (i % 100)));
    expect(await vectorsOf('/tei/tiny-bert/embed', { inputs: ids, truncate: true })).toHaveLength(48);
    const tooMany = await post('/embed', { inputs: Array.from({ length: served.t.config.service.limits.max_inputs + 1 }, () => 'x') });
    expect(tooMany.status).toBe(413);
    expect(await tooMany.json()).toMatchObject({ error: expect.stringContaining('inputs'), error_type: 'Validation', code: 'payload_too_large' });
  });

  it('sends TEI’s timing headers, with the tokens and characters computed', async () => {
    const response = await post('/embed', { inputs: TEXTS });
    const header = (name: string) => Number(response.headers.get(name));
    const usage = ((await (await served.t.post('/v1/embeddings', { input: TEXTS })).json()) as { usage: { prompt_tokens: number } }).usage;
    expect(header('x-compute-tokens')).toBe(usage.prompt_tokens);
    expect(header('x-compute-characters')).toBe(TEXTS.join('').length);
    expect(response.headers.get('x-compute-type')).toBe('cpu');
    for (const name of ['x-compute-time', 'x-total-time', 'x-tokenization-time', 'x-queue-time', 'x-inference-time']) {
      expect(response.headers.get(name), name).toMatch(/^\d+$/);
    }
    expect(header('x-queue-time') + header('x-tokenization-time') + header('x-inference-time')).toBeLessThanOrEqual(header('x-total-time') + 1);
  });
});

describe('POST /similarity', () => {
  it('gives each sentence’s cosine similarity to the source sentence', async () => {
    const sentences = ['cats sleep in the sun', 'the stock market fell'];
    const answer = (await (await post('/similarity', { inputs: { source_sentence: 'where do cats sleep', sentences } })).json()) as number[];
    const [source, ...others] = await openAi({ input: ['where do cats sleep', ...sentences] });
    expect(answer).toHaveLength(2);
    answer.forEach((score, i) => expect(score).toBeCloseTo(others[i]!.reduce((sum, x, d) => sum + x * source![d]!, 0), 5));
    const prompted = (await (await post('/tei/tiny-bert/similarity', { inputs: { source_sentence: 'where do cats sleep', sentences }, parameters: { prompt_name: 'query' } })).json()) as number[];
    expect(prompted).not.toEqual(answer);
    const empty = await post('/similarity', { inputs: { source_sentence: 'x', sentences: [] } });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error_type: 'Empty' });
  });
});

describe('GET /info', () => {
  it('describes the default model at the root and any model under /tei/{model}, with the limits it is served with', async () => {
    const info = (await (await fetch(`${served.base}/info`)).json()) as Record<string, unknown>;
    expect(info).toEqual({
      model_id: 'tiny-bert',
      model_sha: null,
      model_dtype: 'float32',
      served_model_name: 'tiny-bert',
      model_type: { embedding: { pooling: 'mean' } },
      max_concurrent_requests: served.t.config.service.queue.max_length,
      max_input_length: 32,
      max_batch_tokens: served.t.config.service.worker.max_batch_tokens,
      max_batch_requests: served.t.config.service.worker.max_batch_size,
      max_client_batch_size: served.t.config.service.limits.max_inputs,
      auto_truncate: true,
      tokenization_workers: expect.any(Number),
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      sha: null,
      docker_label: null,
    });
    expect(await (await fetch(`${served.base}/tei/tiny-bert/info`)).json()).toEqual(info);
    expect((await fetch(`${served.base}/tei/nothing-here/info`)).status).toBe(404);
  });
});

describe('POST /tokenize and POST /decode', () => {
  it('shows each text’s tokens as transformers.js’s tokenizer reads the same files, with TEI’s byte offsets', async () => {
    const folder = served.t.config.ml.models.find((m) => m.id === 'tiny-bert')!.path!;
    env.allowRemoteModels = false;
    env.localModelPath = `${dirname(folder)}/`;
    const reference = await AutoTokenizer.from_pretrained(basename(folder));
    const texts = ['where do cats sleep', 'héllo wörld'];
    const response = await post('/tokenize', { inputs: texts });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { id: number; text: string; special: boolean; start: number | null; stop: number | null }[][];
    texts.forEach((text, i) => {
      expect(tokens[i]!.map((token) => token.id)).toEqual(reference.encode(text));
      expect(tokens[i]![0]).toEqual({ id: tokens[i]![0]!.id, text: '[CLS]', special: true, start: null, stop: null });
      // TEI's offsets count UTF-8 bytes, and a token's text is the part of the input it covers.
      const bytes = Buffer.from(text, 'utf8');
      for (const token of tokens[i]!.filter((tk) => !tk.special)) expect(bytes.subarray(token.start!, token.stop!).toString('utf8')).toBe(token.text);
    });
    expect(tokens[1]!.find((token) => token.text === 'héllo')).toMatchObject({ start: 0, stop: 6 });

    const plain = (await (await post('/tei/tiny-bert/tokenize', { inputs: 'cats', add_special_tokens: false, prompt_name: 'query' })).json()) as { text: string; special: boolean }[][];
    expect(plain[0]!.map((token) => token.text).join(' ')).toBe('query : cats');
    expect(plain[0]!.every((token) => !token.special)).toBe(true);
  });

  it('decodes ids back into text, skipping special tokens by default', async () => {
    const [ids] = ((await (await post('/tokenize', { inputs: 'where do cats sleep' })).json()) as { id: number }[][]).map((list) => list.map((token) => token.id));
    expect(await (await post('/decode', { ids })).json()).toEqual(['where do cats sleep']);
    expect(await (await post('/decode', { ids: [ids, ids!.slice(1, 3)], skip_special_tokens: false })).json()).toEqual(['[CLS] where do cats sleep [SEP]', 'where do']);
    const unknown = await post('/decode', { ids: [1, 10_000_000] });
    expect(unknown.status).toBe(422);
    expect(await unknown.json()).toMatchObject({ error: expect.stringContaining('10000000'), error_type: 'Validation' });
  });
});
