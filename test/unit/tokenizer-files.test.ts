import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenizerFiles } from '../../src/adapters/hf-tokenizers/tokenizer-files.js';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import { InvalidParameterError, ServiceUnavailableError, ValidationError } from '../../src/domain/index.js';
import { writeBertFolder } from '../support/bert-fixture.js';

/*
 * The Tokenizers port's one adapter, held to the port's guarantees: the ids
 * the ONNX worker reads for the same text, never truncated, each token's
 * span in the text; decoding back; and a refusal of each kind.
 */

let dir: string;
let folder: string;
let tokenizers: TokenizerFiles;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tokenizers-'));
  folder = await writeBertFolder(join(dir, 'tiny-bert'), { maxSeqLength: 16 });
  tokenizers = new TokenizerFiles(new Map([['tiny-bert', join(folder, 'tokenizer.json')], ['not-mounted', join(dir, 'absent', 'tokenizer.json')]]));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TokenizerFiles (the Tokenizers port)', () => {
  it('gives the ids the model reads, with special tokens on request, and each token’s span in the text', async () => {
    const model = await OnnxEmbeddingModel.load({ id: 'tiny-bert', path: folder });
    try {
      const texts = ['Hello world', 'where do cats sleep'];
      const [tokens, withModel] = [await tokenizers.tokenize('tiny-bert', texts, { addSpecialTokens: true }), await model.tokenize(texts)];
      expect(tokens.map((list) => list.map((token) => token.id))).toEqual(withModel.map((t) => [...t.ids]));
      expect(tokens[0]).toEqual([
        { id: 101, text: '[CLS]', special: true },
        { id: 7592, text: 'Hello', special: false, span: { start: 0, stop: 5 } },
        { id: 2088, text: 'world', special: false, span: { start: 6, stop: 11 } },
        { id: 102, text: '[SEP]', special: true },
      ]);
    } finally {
      await model.close();
    }
    const [bare] = await tokenizers.tokenize('tiny-bert', ['Hello world'], { addSpecialTokens: false });
    expect(bare!.map((token) => token.text)).toEqual(['Hello', 'world']);
  });

  it('never truncates, whatever the model reads, and counts spans in code points', async () => {
    const long = 'cat '.repeat(40).trim();
    const [tokens] = await tokenizers.tokenize('tiny-bert', [long], { addSpecialTokens: true });
    expect(tokens).toHaveLength(42);
    const [accented] = await tokenizers.tokenize('tiny-bert', ['a 😀 é'], { addSpecialTokens: false });
    expect(accented!.map((token) => [token.text, token.span])).toEqual([
      ['a', { start: 0, stop: 1 }],
      ['😀', { start: 2, stop: 3 }],
      ['é', { start: 4, stop: 5 }],
    ]);
  });

  it('decodes ids back into text, with or without special tokens, and refuses an id outside the vocabulary', async () => {
    const [tokens] = await tokenizers.tokenize('tiny-bert', ['where do cats sleep'], { addSpecialTokens: true });
    const ids = tokens!.map((token) => token.id);
    expect(await tokenizers.decode('tiny-bert', [ids], { skipSpecialTokens: true })).toEqual(['where do cats sleep']);
    expect(await tokenizers.decode('tiny-bert', [ids, [ids[1]!]], { skipSpecialTokens: false })).toEqual(['[CLS] where do cats sleep [SEP]', 'where']);
    const refused = await tokenizers.decode('tiny-bert', [[1, 99_999_999]], { skipSpecialTokens: true }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).issues).toEqual([{ path: 'ids', message: expect.stringContaining('99999999') }]);
  });

  it('refuses a model without a tokenizer.json (InvalidParameterError) and one whose files are not here (ServiceUnavailableError)', async () => {
    await expect(tokenizers.tokenize('universal-sentence-encoder-lite', ['x'], { addSpecialTokens: true })).rejects.toBeInstanceOf(InvalidParameterError);
    const absent = await tokenizers.decode('not-mounted', [[1]], { skipSpecialTokens: true }).catch((error: unknown) => error);
    expect(absent).toBeInstanceOf(ServiceUnavailableError);
    expect((absent as ServiceUnavailableError).message).not.toContain(dir);
  });
});
