import { InvalidParameterError } from './errors.js';
import type { ModelPrompts } from './prompts.js';
import type { LongText } from './long-text.js';

export type Engine = 'onnx' | 'use-lite';

/** What a model does: turn texts into vectors, or score (query, document) pairs (a cross-encoder). */
export const MODEL_KINDS = ['embedding', 'reranker'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];
export type Pooling = 'mean' | 'cls' | 'max';

/** What a model is, as configured: enough to route to it and describe it without loading it. */
export interface ModelSpec extends ModelPrompts {
  readonly id: string;
  readonly kind: ModelKind;
  readonly engine: Engine;
  readonly description?: string;
  /** Known before loading when configured; otherwise learnt from the loaded model. */
  readonly dimensions?: number;
  readonly maxTokens?: number;
  readonly pooling?: Pooling;
  readonly normalize?: boolean;
  /** Shorter output sizes the model supports (Matryoshka-trained); empty when it supports none. */
  readonly outputDimensions?: readonly number[];
  /** What it does with a text too long for it when a request does not say; absent: cut it. */
  readonly longText?: LongText;
  /** Most tokens of a text it embeds whole (`long_text: pool | chunks`); absent: the service's limit. */
  readonly maxTextTokens?: number;
}

/** What a loaded model reports about itself. */
export interface ModelInfo {
  readonly id: string;
  readonly engine: Engine;
  readonly dimensions: number;
  /** Inputs longer than this many tokens are truncated. */
  readonly maxTokens: number;
  readonly pooling: Pooling;
  readonly normalize: boolean;
}

/** What a loaded cross-encoder reports about itself. */
export interface RerankerInfo {
  readonly id: string;
  readonly engine: Engine;
  /** A pair (query and document, special tokens included) longer than this is cut. */
  readonly maxTokens: number;
  /** Logits per pair: 1 for a relevance model, more for a classifier. */
  readonly labels: number;
  /** The label whose probability is the relevance score, when there are several. */
  readonly scoreLabel: number;
}

/** A model as listed to clients: its spec, merged with what loading it revealed. */
export interface ModelDescriptor extends ModelSpec {
  /** A reranker's logits per pair, once loaded. */
  readonly labels?: number;
  /** Whether this process has the model loaded; `undefined` where this process loads no models (the API). */
  readonly loaded?: boolean;
  /** Workers that report serving it; `undefined` when the registry cannot be read. */
  readonly liveWorkers?: number;
}

/** Refuses a model of another kind than the route serves, naming both. */
export function requireKind(model: ModelDescriptor, kind: ModelKind): void {
  if (model.kind === kind) return;
  const a = (k: ModelKind) => (k === 'embedding' ? 'an embedding model' : 'a reranker');
  throw new InvalidParameterError('model', `Model '${model.id}' is ${a(model.kind)}; this route takes ${a(kind)}.`);
}

/** Refuses a `dimensions` the model does not declare among its output sizes. */
export function checkOutputDimensions(model: ModelDescriptor, dimensions: number): void {
  const allowed = model.outputDimensions ?? [];
  if (!allowed.includes(dimensions)) {
    throw new InvalidParameterError(
      'dimensions',
      allowed.length === 0
        ? `Model '${model.id}' does not support shortening its embeddings; omit dimensions.`
        : `Model '${model.id}' supports dimensions ${allowed.join(', ')}; ${dimensions} is not one of them.`,
    );
  }
}
