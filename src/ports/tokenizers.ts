import type { TextToken } from '../domain/index.js';

/**
 * Models' tokenizers, apart from the models: what TEI's /tokenize and
 * /decode answer, in the process that serves the API.
 *
 * Guarantees:
 * - `tokenize` gives each text's tokens in order, never truncated, with the
 *   model's special tokens when `addSpecialTokens`; the ids are those the
 *   model's worker reads for the same text;
 * - `decode` gives one text per list of ids, in order, leaving out special
 *   tokens when `skipSpecialTokens`;
 * - an id outside the model's vocabulary is refused with `ValidationError`
 *   naming it; a model without a tokenizer of this kind with
 *   `InvalidParameterError` on `model`; a model whose files this process
 *   cannot read with `ServiceUnavailableError`.
 */
export interface Tokenizers {
  tokenize(modelId: string, texts: readonly string[], options: { addSpecialTokens: boolean }): Promise<TextToken[][]>;
  decode(modelId: string, ids: readonly (readonly number[])[], options: { skipSpecialTokens: boolean }): Promise<string[]>;
}
