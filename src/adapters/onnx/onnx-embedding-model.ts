import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Tokenizer } from 'tokenizers';
import {
  cutsAtModelEnd,
  fitText,
  inputPath,
  requireEmbeddable,
  tokenLimit,
  type Embeddings,
  type ModelInfo,
  type Pooling,
  type TextInput,
  type TextTruncation,
  type TokenizedText,
} from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import { checkTokenIds, embedInputs } from '../shared/token-ids.js';
import { InferenceThread } from './inference-thread.js';
import { readSentenceTransformersFolder } from './sentence-transformers-folder.js';
import { SpecialTokens } from './special-tokens.js';

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
  /**
   * onnxruntime's threads spin while they wait for work instead of sleeping
   * (default false): a lone request is answered sooner, but under load the
   * spinning threads take the cores the event loop and any broker on the
   * machine need (measured in BENCHMARKS.md).
   */
  readonly spinning?: boolean;
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
    /** Cuts each text at the end, special tokens included: what most requests ask. */
    private readonly tokenizer: Tokenizer,
    /** Cuts nothing and adds no special tokens: for requests that cut at the start, or refuse what is too long. */
    private readonly whole: Tokenizer,
    private readonly specials: SpecialTokens,
    private readonly vocabularySize: number,
  ) {}

  static async load(options: OnnxModelOptions): Promise<OnnxEmbeddingModel> {
    const folder = await readSentenceTransformersFolder(options.path);
    const maxTokens = Math.min(options.maxTokens ?? folder.maxSeqLength, folder.maxSeqLength);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    const specials = SpecialTokens.fromTokenizerJson(JSON.parse(await readFile(folder.tokenizerFile, 'utf8')));
    tokenizer.setTruncation(maxTokens);
    tokenizer.disablePadding();
    const whole = Tokenizer.fromFile(folder.tokenizerFile);
    whole.disableTruncation();
    whole.disablePadding();
    const pooling = options.pooling ?? folder.pooling;
    const thread = await InferenceThread.start({
      modelFile: folder.modelFile,
      pooling,
      intraOpThreads: options.intraOpThreads ?? availableParallelism(),
      spinning: options.spinning ?? false,
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
      whole,
      specials,
      tokenizer.getVocabSize(true),
    );
    // The first run allocates and plans; pay for it at load, not on a client's request.
    await model.embed(['warm-up']);
    return model;
  }

  embed(inputs: readonly TextInput[]): Promise<Embeddings> {
    return embedInputs(this, inputs);
  }

  async tokenize(inputs: readonly TextInput[], truncation: TextTruncation = {}): Promise<readonly TokenizedText[]> {
    requireEmbeddable(inputs);
    const texts = inputs.filter((input): input is string => typeof input === 'string');
    const atEnd = cutsAtModelEnd(this.info.maxTokens, truncation);
    const limit = tokenLimit(this.info.maxTokens, truncation);
    const encodings = texts.length === 0 ? [] : atEnd ? await this.tokenizer.encodeBatch(texts) : await this.whole.encodeBatch(texts, { addSpecialTokens: false });
    const room = Math.max(0, limit - this.specials.singleCount);
    const fit = (ids: readonly number[], path: string) => {
      const { kept, dropped } = fitText(ids, room, truncation, { model: this.info.id, maxTokens: limit, path });
      return { ...this.specials.wrap(kept), ...(dropped > 0 && { dropped }) };
    };
    const lost = atEnd ? await this.droppedAtEnd(texts, encodings) : [];
    let next = 0;
    return inputs.map((input, index) => {
      const path = inputPath(index, inputs.length);
      if (typeof input !== 'string') {
        // Token ids from the client get the special tokens a text would get, and the same truncation.
        checkTokenIds(input, this.vocabularySize, this.info.id, path);
        return fit(input, path);
      }
      const dropped = lost[next] ?? 0;
      const encoding = encodings[next++]!;
      return atEnd ? { ids: encoding.getIds(), typeIds: encoding.getTypeIds(), ...(dropped > 0 && { dropped }) } : fit(encoding.getIds(), path);
    });
  }

  /**
   * How many tokens the end-cutting tokenizer cut from each text. Only a text
   * it filled to the limit can have been cut: those alone are counted again,
   * whole, so that short texts (most of them) cost nothing more.
   */
  private async droppedAtEnd(texts: readonly string[], encodings: readonly { getLength(): number }[]): Promise<number[]> {
    const full = texts.flatMap((text, i) => (encodings[i]!.getLength() >= this.info.maxTokens ? [i] : []));
    const dropped = new Array<number>(texts.length).fill(0);
    if (full.length === 0) return dropped;
    const whole = await this.whole.encodeBatch(full.map((i) => texts[i]!), { addSpecialTokens: false });
    full.forEach((i, k) => (dropped[i] = Math.max(0, whole[k]!.getLength() + this.specials.singleCount - this.info.maxTokens)));
    return dropped;
  }

  embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    return this.thread.rows(this.info, batch);
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}
