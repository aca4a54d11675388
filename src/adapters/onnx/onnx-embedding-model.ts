import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
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
import { pool } from './pooling.js';
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

/** Outputs that hold per-token states, in the names exporters use for them. */
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings'];

export class OnnxEmbeddingModel implements EmbeddingModel {
  private constructor(
    readonly info: ModelInfo,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly output: string,
  ) {}

  static async load(options: OnnxModelOptions): Promise<OnnxEmbeddingModel> {
    const folder = await readSentenceTransformersFolder(options.path);
    const maxTokens = Math.min(options.maxTokens ?? folder.maxSeqLength, folder.maxSeqLength);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    tokenizer.setTruncation(maxTokens);
    // Padding is done per batch here, to the batch's longest text.
    tokenizer.disablePadding();

    const session = await ort.InferenceSession.create(folder.modelFile, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.intraOpThreads ?? availableParallelism(),
      interOpNumThreads: 1,
    });
    const output = session.outputNames.find((name) => TOKEN_OUTPUTS.includes(name)) ?? session.outputNames[0];
    if (!output) throw new Error(`${folder.modelFile} has no outputs`);

    const model = new OnnxEmbeddingModel(
      {
        id: options.id,
        engine: 'onnx',
        dimensions: folder.hiddenSize,
        maxTokens,
        pooling: options.pooling ?? folder.pooling,
        normalize: options.normalize ?? folder.normalize,
      },
      session,
      tokenizer,
      output,
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
    try {
      return await this.run(batch);
    } catch (error) {
      throw new InferenceError(`Model '${this.info.id}' failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async run(encoded: readonly TokenizedText[]): Promise<Float32Array[]> {
    const batch = encoded.length;
    const seq = Math.max(...encoded.map((e) => e.ids.length));
    const ids = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    const types = new BigInt64Array(batch * seq);
    encoded.forEach((e, b) => {
      const row = b * seq;
      for (let t = 0; t < e.ids.length; t++) {
        ids[row + t] = BigInt(e.ids[t]!);
        mask[row + t] = 1n;
        types[row + t] = BigInt(e.typeIds?.[t] ?? 0);
      }
    });
    const dims = [batch, seq];
    const inputs: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, dims),
      attention_mask: new ort.Tensor('int64', mask, dims),
      token_type_ids: new ort.Tensor('int64', types, dims),
    };
    const feeds = Object.fromEntries(this.session.inputNames.map((name) => [name, inputs[name]!]));
    const results = await this.session.run(feeds, [this.output]);
    const out = results[this.output]!;
    try {
      if (out.dims.length === 2) {
        // The export already pools (a `sentence_embedding` output).
        const data = out.data as Float32Array;
        const dim = out.dims[1]!;
        return encoded.map((_, b) => this.finish(data.slice(b * dim, (b + 1) * dim)));
      }
      const pooled = pool(out.data as Float32Array, mask, batch, seq, out.dims[2]!, this.info.pooling);
      return pooled.map((v) => this.finish(v));
    } finally {
      out.dispose();
    }
  }

  private finish(vector: Float32Array): Float32Array {
    return this.info.normalize ? l2Normalize(vector) : vector;
  }
}
