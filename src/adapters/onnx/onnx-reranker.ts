import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Tokenizer } from 'tokenizers';
import { cut, fitPair, ValidationError, type PairTruncation, type RerankerInfo, type TokenizedText } from '../../domain/index.js';
import type { RerankerModel } from '../../ports/reranker-model.js';
import { InferenceThread } from './inference-thread.js';
import { readCrossEncoderFolder } from './sentence-transformers-folder.js';
import { SpecialTokens } from './special-tokens.js';

export interface OnnxRerankerOptions {
  readonly id: string;
  /** A CrossEncoder export folder. */
  readonly path: string;
  /** The graph inside the folder, when not where exports put it (an int8 variant's). */
  readonly onnxFile?: string;
  /** Caps the folder's maximum length. */
  readonly maxTokens?: number;
  readonly intraOpThreads?: number;
  readonly spinning?: boolean;
}

/**
 * A sentence-transformers CrossEncoder ONNX export, run with onnxruntime-node
 * on its own thread, like the embedding models. The query and each document
 * are tokenized alone, without special tokens, cut to fit (see
 * `RerankerModel`), and put together with the tokenizer's pair template, so
 * that the cut never loses a special token and a request may choose its own
 * cut (Cohere's `max_tokens_per_doc`, TEI's `truncation_direction`).
 */
export class OnnxReranker implements RerankerModel {
  private constructor(
    readonly info: RerankerInfo,
    private readonly thread: InferenceThread,
    private readonly tokenizer: Tokenizer,
    private readonly specials: SpecialTokens,
  ) {}

  static async load(options: OnnxRerankerOptions): Promise<OnnxReranker> {
    const folder = await readCrossEncoderFolder(options.path, options.onnxFile);
    const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
    const specials = SpecialTokens.fromTokenizerJson(JSON.parse(await readFile(folder.tokenizerFile, 'utf8')));
    const thread = await InferenceThread.start({
      modelFile: folder.modelFile,
      // A classifier's output is already one row per pair; nothing is pooled.
      pooling: 'cls',
      intraOpThreads: options.intraOpThreads ?? availableParallelism(),
      spinning: options.spinning ?? false,
    });
    const info: RerankerInfo = {
      id: options.id,
      engine: 'onnx',
      maxTokens: Math.min(options.maxTokens ?? folder.maxLength, folder.maxLength),
      labels: folder.labels,
      scoreLabel: folder.scoreLabel,
    };
    const model = new OnnxReranker(info, thread, tokenizer, specials);
    // The first run allocates and plans; pay for it at load, not on a client's request.
    await model.scoreTokenized(await model.tokenizePairs('warm-up', ['warm-up']));
    return model;
  }

  async tokenizePairs(query: string, documents: readonly string[], { maxDocumentTokens, direction = 'right', truncate = true }: PairTruncation = {}): Promise<readonly TokenizedText[]> {
    if (query.length === 0) throw new ValidationError('The query is empty.');
    if (documents.length === 0) throw new ValidationError('No documents to rerank.');
    const [queryEncoding, ...documentEncodings] = await this.tokenizer.encodeBatch([query, ...documents], { addSpecialTokens: false });
    const queryIds = queryEncoding!.getIds();
    const room = Math.max(0, this.info.maxTokens - this.specials.pairCount);
    return documentEncodings.map((encoding, i) => {
      const documentIds = cut(encoding.getIds(), maxDocumentTokens ?? Number.POSITIVE_INFINITY, direction);
      if (!truncate && queryIds.length + documentIds.length > room) {
        const tokens = queryIds.length + documentIds.length + this.specials.pairCount;
        const message = `the query and this document take ${tokens} tokens; model '${this.info.id}' takes at most ${this.info.maxTokens} (truncate: true cuts them)`;
        throw new ValidationError(`A document is too long for the model with the query.`, [{ path: `documents[${i}]`, message }]);
      }
      const fit = fitPair(queryIds.length, documentIds.length, room);
      return this.specials.wrapPair(cut(queryIds, fit.query, direction), cut(documentIds, fit.document, direction));
    });
  }

  /** Each pair's logits, one row per label. */
  scoreTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]> {
    return this.thread.rows({ id: this.info.id }, batch);
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}
