import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Tokenizer } from 'tokenizers';
import {
  inputPath,
  requireEmbeddable,
  type Embeddings,
  type ModelInfo,
  type Pooling,
  type TextInput,
  type TokenizedText,
} from '../../domain/index.js';
import type { EmbeddingModel } from '../../ports/embedding-model.js';
import { checkTokenIds, embedInputs } from '../shared/token-ids.js';
import { inferRows } from '../shared/vectors.js';
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
    private readonly tokenizer: Tokenizer,
    private readonly specials: SpecialTokens,
  ) {}

  static async load(options: OnnxModelOptions): Promise<OnnxEmbeddingModel> {
    const folder = await readSentenceTransformersFolder(options.path);
    const maxTokens = Math.min(options.maxTokens ?? folder.maxSeqLength, folder.maxSeqLength);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    const specials = specialTokens(JSON.parse(await readFile(folder.tokenizerFile, 'utf8')), tokenizer.getVocabSize(true));
    tokenizer.setTruncation(maxTokens);
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
    );
    // The first run allocates and plans; pay for it at load, not on a client's request.
    await model.embed(['warm-up']);
    return model;
  }

  embed(inputs: readonly TextInput[]): Promise<Embeddings> {
    return embedInputs(this, inputs);
  }

  async tokenize(inputs: readonly TextInput[]): Promise<readonly TokenizedText[]> {
    requireEmbeddable(inputs);
    const texts = inputs.filter((input): input is string => typeof input === 'string');
    const encodings = texts.length > 0 ? await this.tokenizer.encodeBatch(texts) : [];
    let next = 0;
    return inputs.map((input, index) => {
      if (typeof input !== 'string') return this.wrapTokenIds(input, inputPath(index, inputs.length));
      const encoding = encodings[next++]!;
      return { ids: encoding.getIds(), typeIds: encoding.getTypeIds() };
    });
  }

  /** Token ids from the client get the special tokens a text would get, and the same truncation. */
  private wrapTokenIds(ids: readonly number[], path: string): TokenizedText {
    checkTokenIds(ids, this.specials.vocabularySize, this.info.id, path);
    const room = this.info.maxTokens - this.specials.prefix.length - this.specials.suffix.length;
    const wrapped = [...this.specials.prefix, ...ids.slice(0, Math.max(0, room)), ...this.specials.suffix];
    return { ids: wrapped, typeIds: wrapped.map(() => 0) };
  }

  async embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    return inferRows(this.info, batch.length, async () => {
      const { vectors, dim } = await this.thread.run(pad(batch));
      return { vectors, dimensions: dim };
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

interface SpecialTokens {
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  readonly vocabularySize: number;
}

interface TokenizerJson {
  readonly post_processor?: {
    readonly type?: string;
    readonly single?: ReadonlyArray<{ SpecialToken?: { id: string }; Sequence?: unknown }>;
    readonly special_tokens?: Readonly<Record<string, { ids: number[] }>>;
    readonly cls?: [string, number];
    readonly sep?: [string, number];
  } | null;
}

/**
 * The special tokens the tokenizer puts around a single text ([CLS] … [SEP]
 * for BERT, <s> … </s> for RoBERTa), read from tokenizer.json's post-processor.
 */
function specialTokens(json: TokenizerJson, vocabularySize: number): SpecialTokens {
  const processor = json.post_processor;
  if (processor?.type === 'TemplateProcessing' && processor.single) {
    const prefix: number[] = [];
    const suffix: number[] = [];
    let seenSequence = false;
    for (const piece of processor.single) {
      if (piece.Sequence) seenSequence = true;
      else if (piece.SpecialToken) (seenSequence ? suffix : prefix).push(...(processor.special_tokens?.[piece.SpecialToken.id]?.ids ?? []));
    }
    return { prefix, suffix, vocabularySize };
  }
  if (processor?.cls && processor.sep) return { prefix: [processor.cls[1]], suffix: [processor.sep[1]], vocabularySize };
  return { prefix: [], suffix: [], vocabularySize };
}
