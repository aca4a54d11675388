import { InvalidParameterError } from './errors.js';

export type Engine = 'onnx' | 'use-lite';
export type Pooling = 'mean' | 'cls' | 'max';

/** What a model is, as configured: enough to route to it and describe it without loading it. */
export interface ModelSpec {
  readonly id: string;
  readonly engine: Engine;
  readonly description?: string;
  /** Known before loading when configured; otherwise learnt from the loaded model. */
  readonly dimensions?: number;
  readonly maxTokens?: number;
  readonly pooling?: Pooling;
  readonly normalize?: boolean;
  /** Shorter output sizes the model supports (Matryoshka-trained); empty when it supports none. */
  readonly outputDimensions?: readonly number[];
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

/** A model as listed to clients: its spec, merged with what loading it revealed. */
export interface ModelDescriptor extends ModelSpec {
  /** Whether this process has the model loaded; `undefined` where this process loads no models (the API). */
  readonly loaded?: boolean;
  /** Workers that report serving it; `undefined` when the registry cannot be read. */
  readonly liveWorkers?: number;
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
