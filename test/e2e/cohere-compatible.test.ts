import { createRequire } from 'node:module';
import { CohereEmbeddings } from '@langchain/cohere';
import { CohereClientV2, CohereError } from 'cohere-ai';
import { describe, expect, it } from 'vitest';
import { compact, COMPACT_TYPES } from '../../src/domain/index.js';
import { serveForTests } from '../support/service.js';

/*
 * Cohere's embed routes through the official cohere-ai SDK (v2's
 * CohereClientV2.embed) and through LangChain JS's CohereEmbeddings, with a
 * v2 client and with the v1 client it builds by default: the same vectors as
 * POST /v1/embeddings, in every form Cohere answers, with prompts by input
 * type and Cohere's truncation.
 */

type LangChainsClient = NonNullable<NonNullable<ConstructorParameters<typeof CohereEmbeddings>[0]>['client']>;
/** Cohere's v1 client as LangChain builds it: the cohere-ai that @langchain/cohere itself resolves. */
const LangChainsCohereClient = createRequire(createRequire(import.meta.url).resolve('@langchain/cohere'))('cohere-ai').CohereClient as new (options: {
  token: string;
  environment: string;
}) => LangChainsClient;

const served = serveForTests();

const cohere = () => new CohereClientV2({ token: 'not-checked', baseUrl: served.base });
/** What POST /v1/embeddings answers for the same texts. */
const openAi = async (body: Record<string, unknown>) => {
  const response = await served.t.post('/v1/embeddings', { model: 'tiny-bert', encoding_format: 'float', ...body });
  expect(response.status).toBe(200);
  const json = (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
  return { vectors: json.data.map((d) => d.embedding), tokens: json.usage.prompt_tokens };
};
const TEXTS = ['where do cats sleep', 'cats sleep in the sun'];
/** Longer than tiny-bert's 32 tokens, with a start and an end unlike each other. */
const LONG = `the cat sat on the mat in the morning sun ${'and then it slept '.repeat(6)}until the dog barked loudly at the mailman outside`;

describe('POST /v2/embed with the official cohere-ai SDK (CohereClientV2.embed)', () => {
  it('answers every embedding type from the same vectors as POST /v1/embeddings, with Cohere’s meta', async () => {
    const types = ['float', ...COMPACT_TYPES, 'base64'] as const;
    const answer = await cohere().embed({ model: 'tiny-bert', texts: TEXTS, inputType: 'classification', embeddingTypes: [...types] });
    const expected = await openAi({ input: TEXTS });
    expect(answer.responseType).toBe('embeddings_by_type');
    expect(answer.texts).toEqual(TEXTS);
    expect(answer.meta?.billedUnits?.inputTokens).toBe(expected.tokens);
    expect(answer.meta?.apiVersion?.version).toBe('2');
    expect(answer.embeddings.float).toEqual(expected.vectors);
    for (const type of COMPACT_TYPES) {
      expect(answer.embeddings[type], type).toEqual(expected.vectors.map((v) => compact(Float32Array.from(v), type)));
    }
    const decoded = answer.embeddings.base64!.map((b) => {
      const bytes = Buffer.from(b, 'base64');
      return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    });
    expect(decoded).toEqual(expected.vectors.map((v) => v.map(Math.fround)));
    // The answer's id names the call that ran it (in the logs); a synchronous request keeps no task record.
    expect(served.t.logs.lines.some((l) => l.msg === 'request' && l.taskId === answer.id)).toBe(true);
    expect((await served.t.get(`/v1/embeddings/tasks/${answer.id}`)).status).toBe(404);
  });

  it('puts the model’s prompt for the input type before each text, and shortens to output_dimension', async () => {
    const query = await cohere().embed({ model: 'tiny-bert', texts: TEXTS, inputType: 'search_query', embeddingTypes: ['float'] });
    expect(query.embeddings.float).toEqual((await openAi({ input: TEXTS, input_type: 'query' })).vectors);
    expect(query.embeddings.float).toEqual((await openAi({ input: TEXTS.map((text) => `query: ${text}`) })).vectors);
    const documents = await cohere().embed({ model: 'tiny-bert', texts: TEXTS, inputType: 'search_document', embeddingTypes: ['float'], outputDimension: 16 });
    expect(documents.embeddings.float).toEqual((await openAi({ input: TEXTS, input_type: 'passage', dimensions: 16 })).vectors);
  });

  it('cuts a long text at its end by default, at its start with START, to max_tokens, and refuses it with NONE (422, Cohere’s shape)', async () => {
    const end = await cohere().embed({ model: 'tiny-bert', texts: [LONG], inputType: 'classification', embeddingTypes: ['float'] });
    expect(end.embeddings.float).toEqual((await openAi({ input: LONG })).vectors);
    const start = await cohere().embed({ model: 'tiny-bert', texts: [LONG], inputType: 'classification', embeddingTypes: ['float'], truncate: 'START' });
    expect(start.embeddings.float).not.toEqual(end.embeddings.float);
    const capped = await cohere().embed({ model: 'tiny-bert', texts: [LONG, 'short'], inputType: 'classification', embeddingTypes: ['float'], maxTokens: 6 });
    expect(capped.meta?.billedUnits?.inputTokens).toBe(6 + (await openAi({ input: 'short' })).tokens);

    const refused = (await cohere()
      .embed({ model: 'tiny-bert', texts: ['short', LONG], inputType: 'classification', truncate: 'NONE' })
      .catch((error: unknown) => error)) as CohereError;
    expect(refused).toBeInstanceOf(CohereError);
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toMatchObject({ message: expect.stringContaining('input[1]'), code: 'validation_failed' });
  });

  it.each([
    ['a model that does not exist', { model: 'nope', texts: ['a'] }, 404, 'model_not_found'],
    ['an embedding type it does not know', { model: 'tiny-bert', texts: ['a'], embedding_types: ['int4'] }, 422, 'validation_failed'],
    ['images', { model: 'tiny-bert', texts: [], images: ['data:image/png;base64,AAAA'] }, 400, 'invalid_parameter'],
    ['an output_dimension the model does not offer', { model: 'tiny-bert', texts: ['a'], output_dimension: 5 }, 400, 'invalid_parameter'],
    ['no texts', { model: 'tiny-bert', texts: [] }, 422, 'validation_failed'],
  ])('refuses %s in Cohere’s shape', async (_name, body, status, code) => {
    const response = await served.t.post('/v2/embed', body);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ message: expect.any(String), code });
  });
});

describe('LangChain JS’s CohereEmbeddings', () => {
  it('embeds documents and queries with a v2 client (POST /v2/embed), each with the model’s prompt for it', async () => {
    const embeddings = new CohereEmbeddings({ model: 'tiny-bert', client: cohere() as unknown as LangChainsClient });
    expect(await embeddings.embedDocuments(TEXTS)).toEqual((await openAi({ input: TEXTS, input_type: 'search_document' })).vectors);
    expect(await embeddings.embedQuery(TEXTS[0]!)).toEqual((await openAi({ input: TEXTS[0], input_type: 'search_query' })).vectors[0]);
  });

  it('embeds with the v1 client it builds by default (POST /v1/embed), in v1’s shapes', async () => {
    const client = new LangChainsCohereClient({ token: 'not-checked', environment: served.base });
    const embeddings = new CohereEmbeddings({ model: 'tiny-bert', client });
    expect(await embeddings.embedDocuments(TEXTS)).toEqual((await openAi({ input: TEXTS, input_type: 'search_document' })).vectors);
    // Without embedding_types, v1 answers the plain float list.
    const plain = (await (await served.t.post('/v1/embed', { model: 'tiny-bert', texts: TEXTS })).json()) as { embeddings: number[][]; response_type: string };
    expect(plain.response_type).toBe('embeddings_floats');
    expect(plain.embeddings).toEqual((await openAi({ input: TEXTS })).vectors);
  });
});
