import { availableParallelism } from 'node:os';
import type { ModelSpec } from '../domain/index.js';
import { isSentenceTransformersFolder } from '../adapters/onnx/sentence-transformers-folder.js';
import { USE_LITE } from '../adapters/tfjs/use-lite-embedding-model.js';
import type { LoadedModel } from '../ports/model-loader.js';
import type { AppConfig, ModelEntry } from './config/schema.js';

/** What a process knows of a model without loading it: its configuration, and what its engine fixes. */
export function toSpec(entry: ModelEntry): ModelSpec {
  return {
    id: entry.id,
    kind: entry.kind,
    engine: entry.engine,
    ...(entry.engine === 'use-lite' && { dimensions: USE_LITE.dimensions, maxTokens: USE_LITE.maxTokens, pooling: USE_LITE.pooling }),
    ...(entry.description !== undefined && { description: entry.description }),
    ...(entry.dimensions !== undefined && { dimensions: entry.dimensions }),
    ...(entry.max_tokens !== undefined && { maxTokens: entry.max_tokens }),
    ...(entry.pooling !== undefined && { pooling: entry.pooling }),
    ...(entry.normalize !== undefined && { normalize: entry.normalize }),
    ...(entry.output_dimensions !== undefined && { outputDimensions: entry.output_dimensions }),
    ...(entry.prompts !== undefined && { prompts: entry.prompts }),
    ...(entry.default_prompt_name !== undefined && { defaultPromptName: entry.default_prompt_name }),
    ...(entry.long_text !== undefined && { longText: entry.long_text }),
    ...(entry.max_text_tokens !== undefined && { maxTextTokens: entry.max_text_tokens }),
  };
}

/** Whether the model's files are on this machine (USE-lite's ship with the install). */
export async function isPresent(entry: ModelEntry): Promise<boolean> {
  if (entry.engine === 'use-lite') return true;
  return entry.path !== undefined && isSentenceTransformersFolder(entry.path, entry.onnx_file);
}

/** How onnxruntime runs a worker's models (`worker.intra_op_threads`, `worker.spinning`); 0 threads is every core. */
export interface OnnxRuntimeSettings {
  readonly intraOpThreads: number;
  readonly spinning: boolean;
}

/**
 * Loads a model with the adapter for its kind and engine. The engines are
 * imported here, on first use, so that a process that loads no model (the
 * API) never maps onnxruntime's or TensorFlow.js's code and memory.
 */
export async function loadModel(entry: ModelEntry, runtime: OnnxRuntimeSettings): Promise<LoadedModel> {
  const intraOpThreads = runtime.intraOpThreads > 0 ? runtime.intraOpThreads : availableParallelism();
  if (entry.kind === 'reranker') {
    const { OnnxReranker } = await import('../adapters/onnx/onnx-reranker.js');
    const model = await OnnxReranker.load({
      id: entry.id,
      path: entry.path!,
      ...(entry.onnx_file !== undefined && { onnxFile: entry.onnx_file }),
      intraOpThreads,
      spinning: runtime.spinning,
      ...(entry.max_tokens !== undefined && { maxTokens: entry.max_tokens }),
    });
    return { kind: 'reranker', model };
  }
  return { kind: 'embedding', model: await loadEmbeddingModel(entry, intraOpThreads, runtime.spinning) };
}

async function loadEmbeddingModel(entry: ModelEntry, intraOpThreads: number, spinning: boolean) {
  switch (entry.engine) {
    case 'use-lite': {
      const { UseLiteEmbeddingModel } = await import('../adapters/tfjs/use-lite-embedding-model.js');
      return UseLiteEmbeddingModel.load({
        id: entry.id,
        ...(entry.max_tokens !== undefined && { maxTokens: entry.max_tokens }),
        ...(entry.normalize !== undefined && { normalize: entry.normalize }),
      });
    }
    case 'onnx': {
      const { OnnxEmbeddingModel } = await import('../adapters/onnx/onnx-embedding-model.js');
      return OnnxEmbeddingModel.load({
        id: entry.id,
        path: entry.path!,
        ...(entry.onnx_file !== undefined && { onnxFile: entry.onnx_file }),
        intraOpThreads,
        spinning,
        ...(entry.max_tokens !== undefined && { maxTokens: entry.max_tokens }),
        ...(entry.pooling !== undefined && { pooling: entry.pooling }),
        ...(entry.normalize !== undefined && { normalize: entry.normalize }),
      });
    }
  }
}

/** The models a worker process serves: those named in worker.models (else all), split by whether their files are here. */
export async function modelsToServe(config: AppConfig): Promise<{ present: ModelEntry[]; missing: ModelEntry[] }> {
  const wanted = config.service.worker.models;
  const candidates = config.ml.models.filter((m) => wanted.length === 0 || wanted.includes(m.id));
  const present: ModelEntry[] = [];
  const missing: ModelEntry[] = [];
  for (const entry of candidates) ((await isPresent(entry)) ? present : missing).push(entry);
  return { present, missing };
}
