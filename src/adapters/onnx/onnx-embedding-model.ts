import { availableParallelism } from 'node:os';
import { Tokenizer } from 'tokenizers';
import {
  InferenceError,
  l2Normalize,
  ValidationError,
  type Embeddings,
  type ModelInfo,
  type Pooling,
  type TokenizedText,
} from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import { InferenceThread, type PaddedBatch } from './inference-thread.js';
import { readSentenceTransformersFolder } from './sentence-transformers-folder.js';

export interface OnnxModelOptions {
  readonly id: string;
  /** A sentence-transformers ONNX export folder. */
  readonly path: string;
  /** Overrides of what the folder declares. */
  readonly maxTokens?: number;
  readonly pooling?: Pooling;
  readonly normalize?: boolean;
  /** Threads one inference uses; defaults to the cores available. */
  readonly intraOpThreads?: number;
}

/**
 * A sentence-transformers ONNX export, run with onnxruntime-node on its own
 * thread so that inference never blocks the event loop. Tokenization (Hugging
 * Face tokenizers) happens here; padding is per batch, to its longest text.
 */
export class OnnxEmbeddingModel implements EmbeddingModel {
  private constructor(
    readonly info: ModelInfo,
    private readonly thread: InferenceThread,
    private readonly tokenizer: Tokenizer,
  ) {}

  static async load(options: OnnxModelOptions): Promise<OnnxEmbeddingModel> {
    const folder = await readSentenceTransformersFolder(options.path);
    const maxTokens = Math.min(options.maxTokens ?? folder.maxSeqLength, folder.maxSeqLength);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    tokenizer.setTruncation(maxTokens);
    tokenizer.disablePadding();
    const pooling = options.pooling ?? folder.pooling;
    const thread = await InferenceThread.start({
      modelFile: folder.modelFile,
      pooling,
      intraOpThreads: options.intraOpThreads ?? availableParallelism(),
    });
    const model = new OnnxEmbeddingModel(
      {
        id: options.id,
        engine: 'onnx',
        dimensions: folder.hiddenSize,
        maxTokens,
        pooling,
        normalize: options.normalize ?? folder.normalize,
      },
      thread,
      tokenizer,
    );
    // The first run allocates and plans; pay for it at load, not on a client's request.
    await model.embed(['warm-up']);
    return model;
  }

  async embed(texts: readonly string[]): Promise<Embeddings> {
    const tokenized = await this.tokenize(texts);
    return { vectors: await this.embedTokenized(tokenized), tokenCounts: tokenized.map((t) => t.ids.length) };
  }

  async tokenize(texts: readonly string[]): Promise<readonly TokenizedText[]> {
    if (texts.length === 0) throw new ValidationError('No texts to embed.');
    if (texts.some((t) => t.length === 0)) throw new ValidationError('Cannot embed an empty text.');
    const encodings = await this.tokenizer.encodeBatch([...texts]);
    return encodings.map((e) => ({ ids: e.getIds(), typeIds: e.getTypeIds() }));
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    if (batch.length === 0) throw new ValidationError('No texts to embed.');
    let result: { vectors: Float32Array; dim: number };
    try {
      result = await this.thread.run(pad(batch));
    } catch (error) {
      throw new InferenceError(`Model '${this.info.id}' failed: ${(error as Error).message}`, { cause: error });
    }
    const { vectors, dim } = result;
    return batch.map((_, b) => {
      // A copy, so that a stored result does not keep the whole batch's buffer alive.
      const vector = vectors.slice(b * dim, (b + 1) * dim);
      return this.info.normalize ? l2Normalize(vector) : vector;
    });
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}

/** Right-pads every text to the batch's longest, with attention mask 0 on the padding. */
function pad(batch: readonly TokenizedText[]): PaddedBatch {
  const seq = Math.max(...batch.map((t) => t.ids.length));
  const ids = new BigInt64Array(batch.length * seq);
  const mask = new BigInt64Array(batch.length * seq);
  const types = new BigInt64Array(batch.length * seq);
  batch.forEach((text, b) => {
    const row = b * seq;
    for (let t = 0; t < text.ids.length; t++) {
      ids[row + t] = BigInt(text.ids[t]!);
      mask[row + t] = 1n;
      types[row + t] = BigInt(text.typeIds?.[t] ?? 0);
    }
  });
  return { batch: batch.length, seq, ids, mask, types };
}
