import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Tokenizer } from 'tokenizers';
import {
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
import { fitOrWindow } from '../shared/windows.js';
import { InferenceThread } from './inference-thread.js';
import { readSentenceTransformersFolder } from './sentence-transformers-folder.js';
import { SpecialTokens } from './special-tokens.js';

export interface OnnxModelOptions {
  readonly id: string;
  /** A sentence-transformers ONNX export folder. */
  readonly path: string;
  /** The graph inside the folder, when not where exports put it (an int8 variant's). */
  readonly onnxFile?: string;
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
    /** Cuts nothing and adds no special tokens: `tokenize` cuts, and wraps in special tokens, as each request asks. */
    private readonly tokenizer: Tokenizer,
    private readonly specials: SpecialTokens,
    private readonly vocabularySize: number,
  ) {}

  static async load(options: OnnxModelOptions): Promise<OnnxEmbeddingModel> {
    const folder = await readSentenceTransformersFolder(options.path, options.onnxFile);
    const maxTokens = Math.min(options.maxTokens ?? folder.maxSeqLength, folder.maxSeqLength);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    const specials = SpecialTokens.fromTokenizerJson(JSON.parse(await readFile(folder.tokenizerFile, 'utf8')));
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
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
    const limit = tokenLimit(this.info.maxTokens, truncation);
    // Whole, then cut here: one pass says how many tokens a long text loses, and serves every truncation alike.
    const encodings = texts.length === 0 ? [] : await this.tokenizer.encodeBatch(texts, { addSpecialTokens: false });
    const room = Math.max(0, limit - this.specials.singleCount);
    const wrap = (ids: readonly number[]) => this.specials.wrap(ids);
    let next = 0;
    return inputs.map((input, index) => {
      const limits = { model: this.info.id, maxTokens: limit, path: inputPath(index, inputs.length) };
      if (typeof input !== 'string') {
        // Token ids from the client get the special tokens a text would get, and the same truncation.
        checkTokenIds(input, this.vocabularySize, this.info.id, limits.path);
        return fitOrWindow(input, room, truncation, limits, wrap);
      }
      const encoding = encodings[next++]!;
      let spans: ReturnType<typeof utf16Spans> | undefined;
      return fitOrWindow(encoding.getIds(), room, truncation, limits, wrap, (start, end) => (spans ??= utf16Spans(input, encoding.getOffsets()))(start, end));
    });
  }

  embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    return this.thread.rows(this.info, batch);
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}

/**
 * Where each token of `text` lies in it, as UTF-16 offsets (what
 * `text.slice` takes): the tokenizer's offsets count code points. Made for a
 * text only when one of its windows is asked where it lies.
 */
function utf16Spans(text: string, offsets: readonly (readonly number[])[]): (start: number, end: number) => { start: number; end: number } {
  const unitOf: number[] = [];
  let unit = 0;
  for (const char of text) {
    unitOf.push(unit);
    unit += char.length;
  }
  unitOf.push(unit);
  return (start, end) => ({ start: unitOf[offsets[start]![0]!]!, end: unitOf[offsets[end - 1]![1]!]! });
}
