import { createOpenAI } from '@ai-sdk/openai';
import { embed, embedMany } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compact, COMPACT_TYPES } from '../../src/domain/index.js';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';
import { startTestService, TINY_BERT_PROMPTS, type TestService } from '../support/service.js';
import { gatedModel } from '../support/stub-model.js';
import { waitFor } from '../support/wait.js';

/*
 * POST /v1/embeddings and /v1/models through the official `openai` package,
 * against the service listening on a real port.
 */

let t: TestService;
let client: OpenAI;
let base: string;
beforeAll(async () => {
  t = await startTestService({ listen: true });
  base = `http://127.0.0.1:${t.service.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'not-checked', maxRetries: 0 });
  await t.service.modelsSettled;
});
afterAll(async () => {
  await t.stop();
});

const models = async () => ((await (await fetch(`${base}/v1/models`)).json()) as { data: { id: string }[] }).data;
const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const raw = (body: unknown) =>
  fetch(`${base}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('POST /v1/embeddings with the openai SDK', () => {
  it('embeds a string (the SDK asks for base64 by default and decodes it)', async () => {
    const response = await client.embeddings.create({ model: 'tiny-bert', input: 'Hello world' });
    expect(response.object).toBe('list');
    expect(response.model).toBe('tiny-bert');
    expect(response.data).toHaveLength(1);
    expect(response.data[0]!.object).toBe('embedding');
    expect(response.data[0]!.embedding).toHaveLength(32);
    expect(norm(response.data[0]!.embedding)).toBeCloseTo(1, 5);
    // [CLS] hello world [SEP], counted by the real tokenizer.
    expect(response.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
  });

  it('embeds an array in order, the same in float and base64', async () => {
    const input = ['first text', 'a second text', 'third'];
    const floats = await client.embeddings.create({ model: 'tiny-bert', input, encoding_format: 'float' });
    const decoded = await client.embeddings.create({ model: 'tiny-bert', input });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1, 2]);
    floats.data.forEach((d, i) => {
      expect(typeof d.embedding[0]).toBe('number');
      expect(Array.from(decoded.data[i]!.embedding)).toEqual(d.embedding.map((x) => Math.fround(x)));
    });
    const single = await client.embeddings.create({ model: 'tiny-bert', input: 'a second text', encoding_format: 'float' });
    expect(floats.data[1]!.embedding).toEqual(single.data[0]!.embedding);
  });

  it('returns base64 of little-endian float32 when asked explicitly', async () => {
    const response = await client.embeddings.create({ model: 'tiny-bert', input: 'bytes', encoding_format: 'base64' });
    const encoded = response.data[0]!.embedding as unknown as string;
    const bytes = Buffer.from(encoded, 'base64');
    expect(bytes.length).toBe(32 * 4);
    expect(norm(Array.from({ length: 32 }, (_, i) => bytes.readFloatLE(i * 4)))).toBeCloseTo(1, 5);
  });

  it('answers compact vectors as integers on request (this service’s encoding_format extension), made from the float vector', async () => {
    const input = ['first text', 'a second text'];
    const floats = await client.embeddings.create({ model: 'tiny-bert', input, encoding_format: 'float', dimensions: 16 });
    for (const type of COMPACT_TYPES) {
      const response = await raw({ model: 'tiny-bert', input, encoding_format: type, dimensions: 16 });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { embedding: number[] }[]; usage: unknown };
      expect(body.usage).toEqual(floats.usage);
      body.data.forEach((d, i) => {
        expect(d.embedding, type).toEqual(compact(Float32Array.from(floats.data[i]!.embedding), type));
        expect(d.embedding).toHaveLength(type === 'binary' || type === 'ubinary' ? 2 : 16);
      });
    }
    const refused = await raw({ model: 'tiny-bert', input: 'x', encoding_format: 'int4' });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { param: string } }).error.param).toBe('encoding_format');
  });

  it('puts the model’s prompt before each text for an input_type (this service’s extension), counting its tokens; an input type without a prompt applies none', async () => {
    const embed = async (body: Record<string, unknown>) => {
      const response = await raw({ model: 'tiny-bert', encoding_format: 'float', ...body });
      expect(response.status).toBe(200);
      return (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    };
    const texts = ['where do cats sleep', 'cats sleep in the sun'];
    const asQuery = await embed({ input: texts, input_type: 'query' });
    const prefixed = await embed({ input: texts.map((text) => `${TINY_BERT_PROMPTS.query}${text}`) });
    expect(asQuery.data.map((d) => d.embedding)).toEqual(prefixed.data.map((d) => d.embedding));
    expect(asQuery.usage).toEqual(prefixed.usage);
    // Cohere's names for the same two purposes: e5's 'passage' prompt for documents.
    const asDocument = await embed({ input: texts, input_type: 'search_document' });
    expect(asDocument.data.map((d) => d.embedding)).toEqual((await embed({ input: texts.map((text) => `${TINY_BERT_PROMPTS.passage}${text}`) })).data.map((d) => d.embedding));
    const plain = await embed({ input: texts });
    expect((await embed({ input: texts, input_type: 'classification' })).data).toEqual(plain.data);
    expect(asQuery.usage.prompt_tokens).toBeGreaterThan(plain.usage.prompt_tokens);
    expect((await models()).find((m) => m.id === 'tiny-bert')).toMatchObject({ prompts: TINY_BERT_PROMPTS, default_prompt_name: null });
  });

  it('takes token ids of the model’s vocabulary, wrapped in its special tokens', async () => {
    const fromIds = await client.embeddings.create({ model: 'tiny-bert', input: [7592, 2088], encoding_format: 'float' });
    const fromText = await client.embeddings.create({ model: 'tiny-bert', input: 'Hello world', encoding_format: 'float' });
    expect(fromIds.data[0]!.embedding).toEqual(fromText.data[0]!.embedding);
    expect(fromIds.usage.prompt_tokens).toBe(4);
    const many = await client.embeddings.create({ model: 'tiny-bert', input: [[7592], [2088, 7592]], encoding_format: 'float' });
    expect(many.data).toHaveLength(2);
  });

  it('shortens to a declared size and renormalises', async () => {
    const response = await client.embeddings.create({ model: 'tiny-bert', input: 'short', dimensions: 16, encoding_format: 'float' });
    expect(response.data[0]!.embedding).toHaveLength(16);
    expect(norm(response.data[0]!.embedding)).toBeCloseTo(1, 5);
  });

  it('raises the SDK’s errors: not found, bad request, unprocessable', async () => {
    const missing = await client.embeddings.create({ model: 'no-such-model', input: 'x' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });

    const size = await client.embeddings.create({ model: 'tiny-bert', input: 'x', dimensions: 10 }).catch((e: unknown) => e);
    expect(size).toBeInstanceOf(OpenAI.BadRequestError);
    expect(size).toMatchObject({ status: 400, param: 'dimensions', code: 'invalid_parameter' });

    const badId = await client.embeddings.create({ model: 'tiny-bert', input: [99999999] }).catch((e: unknown) => e);
    expect(badId).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((badId as Error).message).toMatch(/not in the vocabulary/);
  });
});

describe('Vercel AI SDK (`ai` with `@ai-sdk/openai`), unchanged, with this service as its base URL', () => {
  it('embeds one value and many, with the vectors and usage of POST /v1/embeddings', async () => {
    const provider = createOpenAI({ baseURL: `${base}/v1`, apiKey: 'not-checked' });
    const model = provider.textEmbeddingModel('tiny-bert');
    const texts = ['where do cats sleep', 'cats sleep in the sun'];
    const expected = await client.embeddings.create({ model: 'tiny-bert', input: texts, encoding_format: 'float' });
    const many = await embedMany({ model, values: texts, maxRetries: 0 });
    expect(many.embeddings).toEqual(expected.data.map((d) => d.embedding));
    expect(many.usage.tokens).toBe(expected.usage.prompt_tokens);
    const one = await embed({ model, value: texts[1]!, maxRetries: 0 });
    expect(one.embedding).toEqual(expected.data[1]!.embedding);
  });
});

describe('errors on the OpenAI routes are in OpenAI’s shape', () => {
  const cases: Array<[string, number, string, string | null, unknown]> = [
    ['invalid JSON', 400, 'malformed_request', null, '{"input": '],
    ['no input', 422, 'validation_failed', 'input', { model: 'tiny-bert' }],
    ['an empty list', 422, 'validation_failed', 'input', { model: 'tiny-bert', input: [] }],
    ['an empty string', 422, 'validation_failed', 'input', { model: 'tiny-bert', input: '' }],
    ['mixed strings and ids', 422, 'validation_failed', 'input', { model: 'tiny-bert', input: ['a', 1] }],
    ['an unknown encoding_format', 422, 'validation_failed', 'encoding_format', { model: 'tiny-bert', input: 'a', encoding_format: 'hex' }],
    ['a negative token id', 422, 'validation_failed', 'input[0]', { model: 'tiny-bert', input: [-1] }],
    // Found by the model, on the worker: the path still names the input at fault.
    ['a token id outside the vocabulary', 422, 'validation_failed', 'input[1]', { model: 'tiny-bert', input: [[101, 102], [99999999]] }],
    ['one token array outside the vocabulary', 422, 'validation_failed', 'input', { model: 'tiny-bert', input: [99999999] }],
  ];

  it.each(cases)('%s → %i %s', async (_name, status, code, param, body) => {
    const response = await raw(body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string } };
    expect(json.error).toMatchObject({ type: 'invalid_request_error', code });
    expect(json.error.message.length).toBeGreaterThan(0);
    if (param) expect(json.error.param).toBe(param);
  });

  it('ignores `user`', async () => {
    expect((await raw({ model: 'tiny-bert', input: 'a', user: 'someone' })).status).toBe(200);
  });
});

describe('GET /v1/models in OpenAI’s shapes', () => {
  it('lists models with OpenAI’s fields and this service’s', async () => {
    const page = await client.models.list();
    const model = page.data.find((m) => m.id === 'tiny-bert')!;
    expect(model).toMatchObject({ object: 'model', owned_by: 'embedding-service', dimensions: 32, engine: 'onnx', output_dimensions: [16, 8] });
    expect(typeof model.created).toBe('number');
  });

  it('retrieves one, and raises NotFoundError for an unknown id', async () => {
    expect((await client.models.retrieve('tiny-bert')).id).toBe('tiny-bert');
    await expect(client.models.retrieve('nope')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe('a request not done in time', () => {
  it('gets 504 in OpenAI’s shape; a call still queued at its deadline is not run for nobody', async () => {
    const { model, release } = gatedModel();
    const slow = await startTestService({ env: { EMBEDDINGS_TIMEOUT_SECONDS: '1', WORKER_PREFETCH: '1', WORKER_MAX_BATCH_SIZE: '1' }, loadModel: async () => model });
    await slow.service.modelsSettled;
    try {
      // The first call holds the worker (its one delivery); the second waits in the queue past its deadline.
      const [held, queued] = await Promise.all([slow.post('/v1/embeddings', { model: 'tiny-bert', input: 'held' }), slow.post('/v1/embeddings', { model: 'tiny-bert', input: 'queued' })]);
      for (const response of [held, queued]) {
        expect(response.status).toBe(504);
        const json = (await response.json()) as { error: { code: string; type: string; message: string } };
        expect(json.error).toMatchObject({ code: 'timeout', type: 'server_error' });
      }
      release();
      const finished = (outcome: string) => slow.metrics!.summary(`task_seconds{model=tiny-bert,outcome=${outcome}}`).count;
      await waitFor(() => finished('succeeded') === 1 && finished('expired') === 1, 5_000, 'the held call to finish and the queued one to be skipped');
      expect(slow.logs.lines.some((l) => l.msg === 'deadline passed; not running the call')).toBe(true);
    } finally {
      release();
      await slow.stop();
    }
  });
});

describe('a model no live worker serves', () => {
  it('gets 503 no_live_worker with Retry-After at once, instead of waiting out the timeout', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const loading = await startTestService({
      env: { EMBEDDINGS_TIMEOUT_SECONDS: '30' },
      loadModel: async (): Promise<EmbeddingModel> => {
        await gate;
        throw new Error('never loads');
      },
    });
    try {
      const started = performance.now();
      const response = await loading.post('/v1/embeddings', { model: 'tiny-bert', input: 'nobody home' });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(503);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('no_live_worker');
      // A task, which waits for a worker, is still accepted.
      expect((await loading.post('/v1/embeddings/tasks', { model: 'tiny-bert', input: 'queued' })).status).toBe(202);
    } finally {
      release();
      await loading.stop();
    }
  });
});

