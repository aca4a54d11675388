import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { cosine, EmptyInputError, type EmbeddingsAnswer, type Task } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases, SyncEmbeddingRequest, TeiSettings } from '../types.js';
import { parseOrThrow, schemaError } from '../validation.js';
import { answeredBy, answeredWithEmbeddings, noCache } from './answered.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { toInputs } from '../wire/embeddings.js';
import { TeiRerankRequestSchema, TeiRerankResponseSchema } from '../wire/rerank.js';
import { TeiEmbedRequestSchema, TeiEmbedResponseSchema, TeiSimilarityRequestSchema, TeiSimilarityResponseSchema, teiTruncation } from '../wire/tei.js';
import { teiTokenRoutes } from './tei-tokens.js';
import { modelIn, teiErrors, TEI_BASES, type TeiBase } from './tei-bases.js';

const json = <S extends z.ZodType>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });
const answer = <S extends z.ZodType>(description: string, schema: S) => ({ description, content: { 'application/json': { schema } } });
const ERRORS = [400, 401, 404, 413, 415, 422, 429, 500, 503, 504];
const scope = (base: TeiBase) => (base.path === '' ? 'the default model' : 'the model in the path');

function routesAt(base: TeiBase) {
  const common = { method: 'post' as const, security: NEEDS_API_KEY, tags: ['TEI-compatible'] };
  return {
    embed: createRoute({
      ...common,
      path: `${base.path}/embed`,
      summary: `Embeddings from ${scope(base)} (text-embeddings-inference’s shape)`,
      description: 'What TEI’s clients send to /embed (LlamaIndex’s TextEmbeddingsInference). Same path, vectors and limits as POST /v1/embeddings.',
      request: { params: base.params, body: json(TeiEmbedRequestSchema) },
      responses: { 200: answer('One vector per input', TeiEmbedResponseSchema), ...teiErrors(...ERRORS) },
    }),
    predict: createRoute({
      ...common,
      path: base.path === '' ? '/' : base.path,
      summary: `TEI’s root route, for ${scope(base)}: /embed for an embedding model, /rerank for a reranker`,
      description: 'Where `@huggingface/inference`’s featureExtraction (and LangChain’s HuggingFaceInferenceEmbeddings) and huggingface_hub’s client post, given this base URL as the endpoint.',
      request: { params: base.params, body: json(base.path === '' ? TeiEmbedRequestSchema : z.union([TeiEmbedRequestSchema, TeiRerankRequestSchema])) },
      responses: { 200: answer('As /embed, or as /rerank', z.union([TeiEmbedResponseSchema, TeiRerankResponseSchema])), ...teiErrors(...ERRORS) },
    }),
    similarity: createRoute({
      ...common,
      path: `${base.path}/similarity`,
      summary: `Cosine similarity of sentences to a source sentence, with ${scope(base)}`,
      request: { params: base.params, body: json(TeiSimilarityRequestSchema) },
      responses: { 200: answer('One similarity per sentence', TeiSimilarityResponseSchema), ...teiErrors(...ERRORS) },
    }),
    rerank: createRoute({
      ...common,
      path: `${base.path}/rerank`,
      summary: base.path === '' ? 'Scores texts against a query with the default reranker' : 'Scores texts against a query with the reranker in the path',
      description: 'What TEI’s rerank clients (LlamaIndex’s and Haystack’s TEI rerankers) send and read.',
      request: { params: base.params, body: json(TeiRerankRequestSchema) },
      responses: { 200: answer('The texts, best first', TeiRerankResponseSchema), ...teiErrors(...ERRORS) },
    }),
  };
}

/** TEI's routes (huggingface/text-embeddings-inference, router/src/http/server.rs), at every base, onto the same use cases as OpenAI's. */
export function teiRoutes(useCases: HttpUseCases, settings: TeiSettings, defaultModelId: string) {
  const app = new OpenAPIHono<HttpEnv>();
  for (const base of TEI_BASES) {
    const routes = routesAt(base);
    app.openapi(routes.embed, async (c) => embed(c, useCases, modelIn(c), c.req.valid('json')));
    app.openapi(routes.similarity, async (c) => similarity(c, useCases, modelIn(c), c.req.valid('json')));
    app.openapi(routes.rerank, async (c) => rerank(c, useCases, modelIn(c), c.req.valid('json')));
    // The body is read as the model's kind says: a reranker's as /rerank's, any other as /embed's, each refused in its own terms.
    const bodyFor = async (c: Context<HttpEnv>) => {
      const modelId = modelIn(c);
      const model = modelId === undefined ? undefined : await useCases.getModel.execute(modelId);
      return model?.kind === 'reranker' ? ({ kind: 'reranker', schema: TeiRerankRequestSchema } as const) : ({ kind: 'embedding', schema: TeiEmbedRequestSchema } as const);
    };
    const refuse = async (target: string, issues: readonly z.core.$ZodIssue[], c: Context<HttpEnv>): Promise<never> => {
      if (target === 'json') parseOrThrow<unknown>((await bodyFor(c)).schema, await c.req.json());
      throw schemaError(issues);
    };
    app.openapi(
      routes.predict,
      async (c) => {
        const expected = await bodyFor(c);
        const body: unknown = c.req.valid('json');
        if (expected.kind === 'reranker') return rerank(c, useCases, modelIn(c), parseOrThrow(expected.schema, body));
        return embed(c, useCases, modelIn(c), parseOrThrow(expected.schema, body));
      },
      (result, c) => (result.success ? undefined : refuse(result.target, result.error.issues, c)),
    );
    teiTokenRoutes(app, base, useCases, settings, defaultModelId);
  }
  return app;
}

/** What every TEI route passes on of its request. */
function caller(c: Context<HttpEnv>) {
  const principal = c.get('principal');
  return { requestId: c.get('requestId'), ...(principal && { caller: principal }) };
}

/** Embeds as the request says, for the caller, with the cache unless the request opts out; its headers set. */
async function embedFor(c: Context<HttpEnv>, useCases: HttpUseCases, request: SyncEmbeddingRequest): Promise<EmbeddingsAnswer> {
  const started = performance.now();
  const answer = await useCases.createEmbeddings.execute({ ...caller(c), ...request, ...(noCache(c) && { cache: false as const }) }, c.req.raw.signal);
  answeredWithEmbeddings(c, answer);
  timed(c, answer, started, request.inputs);
  return answer;
}

async function embed(c: Context<HttpEnv>, useCases: HttpUseCases, modelId: string | undefined, body: z.infer<typeof TeiEmbedRequestSchema>) {
  const inputs = toInputs(body.inputs);
  requireSome(inputs, 'inputs');
  const answer = await embedFor(c, useCases, {
    inputs,
    truncation: teiTruncation(body.truncate, body.truncation_direction),
    ...(modelId !== undefined && { model: modelId }),
    ...(body.normalize === false && { normalize: false as const }),
    ...(body.dimensions != null && { dimensions: body.dimensions }),
    ...(body.prompt_name != null && { prompt: { name: body.prompt_name } }),
  });
  return c.json(answer.vectors.map((vector) => Array.from(vector)), 200);
}

async function similarity(c: Context<HttpEnv>, useCases: HttpUseCases, modelId: string | undefined, body: z.infer<typeof TeiSimilarityRequestSchema>) {
  const { source_sentence: source, sentences } = body.inputs;
  requireSome(sentences, 'inputs.sentences');
  requireSome([source], 'inputs.source_sentence');
  const parameters = body.parameters ?? {};
  const answer = await embedFor(c, useCases, {
    inputs: [source, ...sentences],
    truncation: teiTruncation(parameters.truncate, parameters.truncation_direction),
    ...(modelId !== undefined && { model: modelId }),
    ...(parameters.prompt_name != null && { prompt: { name: parameters.prompt_name } }),
  });
  const [first, ...others] = answer.vectors;
  return c.json(others.map((vector) => cosine(first!, vector)), 200);
}

async function rerank(c: Context<HttpEnv>, useCases: HttpUseCases, modelId: string | undefined, body: z.infer<typeof TeiRerankRequestSchema>) {
  const started = performance.now();
  requireSome(body.texts, 'texts');
  const reranked = await useCases.rerank.execute(
    {
      ...caller(c),
      query: body.query,
      documents: body.texts,
      rawScores: body.raw_scores ?? false,
      truncation: teiTruncation(body.truncate, body.truncation_direction),
      ...(modelId !== undefined && { model: modelId }),
    },
    c.req.raw.signal,
  );
  answeredBy(c, reranked.task, reranked.tokens);
  timed(c, { task: reranked.task }, started, [body.query, ...body.texts]);
  const withText = body.return_text ?? false;
  return c.json(
    reranked.results.map(({ index, score }) => ({ index, score, ...(withText && { text: body.texts[index]! }) })),
    200,
  );
}

/** TEI refuses an empty list, or an empty text in it, as `Empty` (400). */
function requireSome(inputs: readonly (string | readonly number[])[], path: string): void {
  if (inputs.length === 0) throw new EmptyInputError(path, `\`${path}\` cannot be empty`);
  const empty = inputs.findIndex((input) => input.length === 0);
  if (empty >= 0) throw new EmptyInputError(inputs.length === 1 ? path : `${path}[${empty}]`, 'an input is empty');
}

/**
 * TEI's timing headers, in whole milliseconds: the task's wait in its queue,
 * its tokenizing and its inference on the worker (batching included), and
 * the request's whole time here; with the characters and tokens computed.
 */
/** TEI's timing headers; with no task (every input cached, or a rerank's own), the queue and the model took no time. */
function timed(c: Context<HttpEnv>, answer: { readonly task?: Task; readonly promptTokens?: number }, started: number, inputs: readonly (string | readonly number[])[]): void {
  const task = answer.task;
  const total = String(Math.round(performance.now() - started));
  const ran = task?.startedAt && task.finishedAt ? task.finishedAt.getTime() - task.startedAt.getTime() : 0;
  const tokenization = Math.min(ran, task?.result?.tokenizationMs ?? 0);
  const queue = task?.startedAt ? Math.max(0, task.startedAt.getTime() - task.createdAt.getTime()) : 0;
  c.header('x-compute-type', 'cpu');
  c.header('x-compute-time', total);
  c.header('x-compute-characters', String(inputs.reduce((sum, input) => sum + input.length, 0)));
  c.header('x-compute-tokens', String(answer.promptTokens ?? task?.result?.usage.promptTokens ?? 0));
  c.header('x-total-time', total);
  c.header('x-tokenization-time', String(tokenization));
  c.header('x-queue-time', String(queue));
  c.header('x-inference-time', String(ran - tokenization));
}
