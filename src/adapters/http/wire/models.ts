import { z } from '@hono/zod-openapi';
import { MODEL_KINDS, type ModelDescriptor } from '../../../domain/index.js';

export const ModelSchema = z
  .object({
    id: z.string(),
    object: z.literal('model'),
    kind: z.enum(MODEL_KINDS).openapi({ description: '`embedding` (the embeddings routes) or `reranker` (a cross-encoder, which scores query and document pairs).' }),
    engine: z.enum(['onnx', 'use-lite']),
    description: z.string().nullable(),
    dimensions: z.number().int().nullable(),
    max_tokens: z.number().int().nullable(),
    pooling: z.enum(['mean', 'cls', 'max']).nullable(),
    normalized: z.boolean().nullable(),
    output_dimensions: z.array(z.number().int()).openapi({ description: 'Sizes `dimensions` may ask for.' }),
    prompts: z.record(z.string(), z.string()).openapi({ description: 'Prefixes by name, put before each text by `prompt_name` or `input_type`; empty when the model has none.' }),
    default_prompt_name: z.string().nullable().openapi({ description: 'The prompt a request that names none gets.' }),
    labels: z.number().int().nullable().openapi({ description: 'A reranker’s logits per pair, once a process has loaded it; null for embedding models.' }),
    loaded: z
      .boolean()
      .nullable()
      .openapi({ description: 'Whether the model is loaded: in this process, or (in an API process, which loads none) by a live worker; null when unknown.' }),
    live_workers: z.number().int().nullable().openapi({ description: 'Workers serving the model now; null when unknown.' }),
    default: z.boolean(),
    created: z.number().int(),
    owned_by: z.string(),
  })
  .openapi('Model');

export const ModelListSchema = z
  .object({ object: z.literal('list'), data: z.array(ModelSchema) })
  .openapi('ModelList');

export const ModelIdParamSchema = z.object({
  id: z.string().min(1).openapi({ param: { name: 'id', in: 'path' } }),
});

/** OpenAI's model objects carry a creation time; this service's models are as old as the process. */
const CREATED = Math.floor(Date.now() / 1000);

export function serializeModel(model: ModelDescriptor, defaultModelId: string) {
  return {
    id: model.id,
    object: 'model' as const,
    kind: model.kind,
    engine: model.engine,
    description: model.description ?? null,
    dimensions: model.dimensions ?? null,
    max_tokens: model.maxTokens ?? null,
    pooling: model.pooling ?? null,
    normalized: model.normalize ?? null,
    output_dimensions: [...(model.outputDimensions ?? [])],
    prompts: { ...model.prompts },
    default_prompt_name: model.defaultPromptName ?? null,
    labels: model.labels ?? null,
    loaded: model.loaded ?? null,
    live_workers: model.liveWorkers ?? null,
    default: model.id === defaultModelId,
    created: CREATED,
    owned_by: 'embedding-service',
  };
}
