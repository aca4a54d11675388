import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { ModelDescriptor } from '../../../domain/index.js';
import type { HttpEnv, HttpUseCases, TeiSettings } from '../types.js';
import { NEEDS_API_KEY } from '../wire/common.js';
import { toInputs } from '../wire/embeddings.js';
import {
  TeiDecodeRequestSchema,
  TeiDecodeResponseSchema,
  TeiInfoSchema,
  TeiTokenizeRequestSchema,
  TeiTokenizeResponseSchema,
  teiToken,
  utf8Offsets,
} from '../wire/tei.js';
import { modelIn, teiErrors, type TeiBase } from './tei-bases.js';

const scope = (base: TeiBase) => (base.path === '' ? 'the default model' : 'the model in the path');

/** TEI's routes about the model rather than its vectors: /info, /tokenize and /decode, at `base`. */
export function teiTokenRoutes(app: OpenAPIHono<HttpEnv>, base: TeiBase, useCases: HttpUseCases, settings: TeiSettings, defaultModelId: string): void {
  const common = { security: NEEDS_API_KEY, tags: ['TEI-compatible'] };
  const info = createRoute({
    ...common,
    method: 'get',
    path: `${base.path}/info`,
    summary: `What ${scope(base)} is and the limits it is served with (TEI’s /info)`,
    request: { params: base.params },
    responses: { 200: { description: 'The model and its limits', content: { 'application/json': { schema: TeiInfoSchema } } }, ...teiErrors(401, 404, 429, 503) },
  });
  const tokenize = createRoute({
    ...common,
    method: 'post',
    path: `${base.path}/tokenize`,
    summary: `Texts as ${scope(base)}’s tokenizer reads them, its prompt included`,
    description: 'Needs the model’s tokenizer.json where the API runs (compose mounts the models folder into the API too); USE-lite has none.',
    request: { params: base.params, body: { required: true, content: { 'application/json': { schema: TeiTokenizeRequestSchema } } } },
    responses: { 200: { description: 'Each text’s tokens', content: { 'application/json': { schema: TeiTokenizeResponseSchema } } }, ...teiErrors(400, 401, 404, 413, 415, 422, 429, 503) },
  });
  const decode = createRoute({
    ...common,
    method: 'post',
    path: `${base.path}/decode`,
    summary: `Token ids of ${scope(base)} back into text`,
    request: { params: base.params, body: { required: true, content: { 'application/json': { schema: TeiDecodeRequestSchema } } } },
    responses: { 200: { description: 'One text per list of ids', content: { 'application/json': { schema: TeiDecodeResponseSchema } } }, ...teiErrors(400, 401, 404, 413, 415, 422, 429, 503) },
  });

  app.openapi(info, async (c) => c.json(infoOf(await useCases.getModel.execute(modelIn(c) ?? defaultModelId), settings), 200));

  app.openapi(tokenize, async (c) => {
    const body = c.req.valid('json');
    const modelId = modelIn(c);
    const { texts } = await useCases.modelTokens.tokenize({
      inputs: toInputs(body.inputs),
      addSpecialTokens: body.add_special_tokens ?? true,
      ...(modelId !== undefined && { model: modelId }),
      ...(body.prompt_name != null && { prompt: { name: body.prompt_name } }),
    });
    return c.json(
      texts.map(({ text, tokens }) => {
        const offsets = utf8Offsets(text);
        return tokens.map((token) => teiToken(token, offsets));
      }),
      200,
    );
  });

  app.openapi(decode, async (c) => {
    const body = c.req.valid('json');
    const modelId = modelIn(c);
    const { texts } = await useCases.modelTokens.decode({ ids: toInputs<readonly number[]>(body.ids), skipSpecialTokens: body.skip_special_tokens ?? true, ...(modelId !== undefined && { model: modelId }) });
    return c.json(texts, 200);
  });
}

/** TEI's Info (router/src/lib.rs) for `model`. */
function infoOf(model: ModelDescriptor, settings: TeiSettings) {
  const labels = model.labels ?? 1;
  return {
    model_id: model.id,
    model_sha: null,
    // The ONNX exports this service runs (and USE-lite) compute in 32-bit floats.
    model_dtype: 'float32',
    served_model_name: model.id,
    model_type:
      model.kind === 'reranker'
        ? {
            reranker: {
              id2label: Object.fromEntries(Array.from({ length: labels }, (_, i) => [String(i), `LABEL_${i}`])),
              label2id: Object.fromEntries(Array.from({ length: labels }, (_, i) => [`LABEL_${i}`, i])),
            },
          }
        : { embedding: { pooling: model.pooling ?? null } },
    max_concurrent_requests: settings.maxConcurrentRequests,
    max_input_length: model.maxTokens ?? null,
    max_batch_tokens: settings.maxBatchTokens,
    max_batch_requests: settings.maxBatchRequests,
    max_client_batch_size: settings.maxClientBatchSize,
    // Whether a text too long for the model is cut when the request does not say (its `long_text`).
    auto_truncate: model.longText !== 'error',
    tokenization_workers: model.liveWorkers ?? 0,
    version: settings.version,
    sha: null,
    docker_label: null,
  };
}
