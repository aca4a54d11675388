import { describe, expect, it } from 'vitest';
import { SpecialTokens } from '../../src/adapters/onnx/special-tokens.js';
import { cut, fitPair, relevanceScore } from '../../src/domain/index.js';

describe('cutting a pair to fit, as tokenizers’ longest_first does', () => {
  it.each([
    // [query, document, room] → [query kept, document kept]
    [5, 10, 20, 5, 10],
    [5, 100, 20, 5, 15],
    [100, 5, 20, 15, 5],
    [10, 10, 20, 10, 10],
    [11, 11, 20, 10, 10],
    [12, 30, 21, 10, 11],
    [30, 12, 21, 11, 10],
    [30, 30, 21, 10, 11],
    [6, 40, 11, 5, 6],
    [0, 40, 11, 0, 11],
  ])('query %i and document %i tokens in a room of %i: keeps %i and %i', (query, document, room, keptQuery, keptDocument) => {
    expect(fitPair(query, document, room)).toEqual({ query: keptQuery, document: keptDocument });
  });

  it('cuts from the end, or (TEI’s truncation_direction: left) from the start', () => {
    expect(cut([1, 2, 3, 4], 2)).toEqual([1, 2]);
    expect(cut([1, 2, 3, 4], 2, 'left')).toEqual([3, 4]);
    expect(cut([1, 2], 5, 'left')).toEqual([1, 2]);
  });
});

describe('a relevance score from logits', () => {
  it('is the sigmoid of a single logit, or the logit itself when raw', () => {
    expect(relevanceScore([0])).toBe(0.5);
    expect(relevanceScore([2])).toBeCloseTo(0.8808, 4);
    expect(relevanceScore([-2.5], { raw: true })).toBe(-2.5);
  });

  it('is the softmax probability of the scoring label when there are several', () => {
    expect(relevanceScore([1, 1])).toBeCloseTo(0.5, 6);
    expect(relevanceScore([0, Math.log(3)], { label: 1 })).toBeCloseTo(0.75, 6);
    expect(relevanceScore([1000, 0])).toBe(1);
    expect(relevanceScore([0.3, 2], { label: 1, raw: true })).toBe(2);
  });
});

describe('special tokens around a pair, from tokenizer.json', () => {
  it('puts BERT’s [CLS] q [SEP] d [SEP] with segment ids 0 then 1', () => {
    const bert = SpecialTokens.fromTokenizerJson({ post_processor: { type: 'BertProcessing', cls: ['[CLS]', 101], sep: ['[SEP]', 102] } });
    expect(bert.pairCount).toBe(3);
    expect(bert.wrapPair([7, 8], [9])).toEqual({ ids: [101, 7, 8, 102, 9, 102], typeIds: [0, 0, 0, 0, 1, 1] });
    expect(bert.wrap([7])).toEqual({ ids: [101, 7, 102], typeIds: [0, 0, 0] });
  });

  it('puts RoBERTa’s <s> q </s></s> d </s>, all in segment 0 (bge-reranker, mxbai-rerank)', () => {
    const roberta = SpecialTokens.fromTokenizerJson({ post_processor: { type: 'RobertaProcessing', cls: ['<s>', 0], sep: ['</s>', 2] } });
    expect(roberta.pairCount).toBe(4);
    expect(roberta.wrapPair([7], [9, 10])).toEqual({ ids: [0, 7, 2, 2, 9, 10, 2], typeIds: [0, 0, 0, 0, 0, 0, 0] });
  });

  it('follows a TemplateProcessing post-processor’s pair template', () => {
    const template = SpecialTokens.fromTokenizerJson({
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '[CLS]', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '[SEP]', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: '[SEP]', type_id: 1 } },
        ],
        special_tokens: { '[CLS]': { ids: [101] }, '[SEP]': { ids: [102] } },
      },
    });
    expect(template.wrapPair([5], [6])).toEqual({ ids: [101, 5, 102, 6, 102], typeIds: [0, 0, 0, 1, 1] });
  });
});
