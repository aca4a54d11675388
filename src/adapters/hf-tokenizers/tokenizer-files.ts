import { access } from 'node:fs/promises';
import { Tokenizer } from 'tokenizers';
import { InvalidParameterError, ServiceUnavailableError, type TextToken } from '../../domain/index.js';
import type { Tokenizers } from '../../ports/tokenizers.js';
import { checkTokenIds } from '../shared/token-ids.js';

/**
 * Each model's `tokenizer.json`, read with Hugging Face's tokenizers (the
 * library TEI and the ONNX workers use), on first use and then kept: a
 * tokenizer is a few megabytes, a model is not loaded for it.
 */
export class TokenizerFiles implements Tokenizers {
  private readonly loaded = new Map<string, Promise<Tokenizer>>();

  /** `files`: the tokenizer.json of each model that has one; a model absent here has none (USE-lite's SentencePiece). */
  constructor(private readonly files: ReadonlyMap<string, string>) {}

  async tokenize(modelId: string, texts: readonly string[], { addSpecialTokens }: { addSpecialTokens: boolean }): Promise<TextToken[][]> {
    const tokenizer = await this.tokenizerOf(modelId);
    const encodings = await tokenizer.encodeBatch([...texts], { addSpecialTokens });
    return encodings.map((encoding, k) => {
      // The library's offsets count code points, as Rust's chars.
      const chars = Array.from(texts[k]!);
      const ids = encoding.getIds();
      const names = encoding.getTokens();
      const offsets = encoding.getOffsets();
      const special = encoding.getSpecialTokensMask();
      return ids.map((id, i) => {
        if (special[i] === 1) return { id, text: names[i]!, special: true };
        const [start, stop] = offsets[i]!;
        return { id, text: chars.slice(start, stop).join(''), special: false, span: { start: start!, stop: stop! } };
      });
    });
  }

  async decode(modelId: string, ids: readonly (readonly number[])[], { skipSpecialTokens }: { skipSpecialTokens: boolean }): Promise<string[]> {
    const tokenizer = await this.tokenizerOf(modelId);
    const vocabularySize = tokenizer.getVocabSize(true);
    ids.forEach((list, i) => checkTokenIds(list, vocabularySize, modelId, ids.length === 1 ? 'ids' : `ids[${i}]`));
    return tokenizer.decodeBatch(ids.map((list) => [...list]), skipSpecialTokens);
  }

  private tokenizerOf(modelId: string): Promise<Tokenizer> {
    let tokenizer = this.loaded.get(modelId);
    if (!tokenizer) {
      tokenizer = this.load(modelId);
      this.loaded.set(modelId, tokenizer);
      // A failed load is tried again next time: the files may be mounted by then.
      tokenizer.catch(() => this.loaded.delete(modelId));
    }
    return tokenizer;
  }

  private async load(modelId: string): Promise<Tokenizer> {
    const file = this.files.get(modelId);
    if (file === undefined) throw new InvalidParameterError('model', `Model '${modelId}' has no Hugging Face tokenizer (tokenizer.json) to show its tokens with.`);
    try {
      await access(file);
    } catch (error) {
      throw new ServiceUnavailableError(`This API process cannot read model '${modelId}''s tokenizer; its files must be mounted where the API runs too.`, 30, { cause: error });
    }
    const tokenizer = Tokenizer.fromFile(file);
    // /tokenize shows the whole text, as TEI does; a tokenizer.json may carry a truncation or padding of its own.
    tokenizer.disableTruncation();
    tokenizer.disablePadding();
    return tokenizer;
  }
}
