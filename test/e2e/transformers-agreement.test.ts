import { basename, dirname } from 'node:path';
import { env, mean_pooling, pipeline, Tensor, type FeatureExtractionPipeline } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * An independent check of the vectors: transformers.js, the library a Node
 * developer would reach for, runs the same folder (the generated BERT, whose
 * maximum length is 32 tokens) through its own tokenizer, session and
 * pooling. The service must agree with it on every text, and on how many
 * tokens each one is, long ones (truncated) included.
 *
 * One difference is transformers.js's, not the service's: it truncates after
 * adding [CLS] and [SEP], so a long text loses its [SEP]; sentence-transformers
 * (Hugging Face tokenizers in Python) truncates the text and keeps both, and
 * the service does as they do. For a long text the reference is therefore
 * transformers.js's model and pooling on its own tokens, truncated the
 * sentence-transformers way.
 */

const MAX_TOKENS = 32;

const TEXTS = [
  'Hello world',
  'The quick brown fox jumps over the lazy dog.',
  'HELLO World, MIXED case and punctuation!?',
  'Ünïcödé naïve café — “quotes”, 日本語 and émojis 🙂',
  '3.14159 and 2,718 are numbers; so is 1e-9.',
  'x',
  'a text far longer than the model can take, so that both sides must truncate it to the same thirty-two tokens and no more, '.repeat(3),
];

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

describe('agreement with transformers.js on the same model folder', () => {
  let t: TestService;
  let extractor: FeatureExtractionPipeline;
  beforeAll(async () => {
    t = await startTestService();
    await t.service.modelsSettled;
    const folder = t.config.ml.models.find((m) => m.id === 'tiny-bert')!.path!;
    env.allowRemoteModels = false;
    env.localModelPath = `${dirname(folder)}/`;
    extractor = await pipeline('feature-extraction', basename(folder), { dtype: 'fp32', device: 'cpu', subfolder: '' });
  });
  afterAll(async () => {
    await extractor?.dispose();
    await t?.stop();
  });

  /** transformers.js's vector for `text`, and how many tokens it took. */
  async function reference(text: string): Promise<{ vector: Float32Array; tokens: number }> {
    const words = Array.from((extractor.tokenizer(text, { add_special_tokens: false }).input_ids as Tensor).data as BigInt64Array, Number);
    if (words.length + 2 <= MAX_TOKENS) {
      const output = await extractor(text, { pooling: 'mean', normalize: true });
      return { vector: output.data as Float32Array, tokens: words.length + 2 };
    }
    // The special tokens transformers.js's own post-processor puts around a text: [CLS] first, [SEP] last.
    const wrapped = Array.from((extractor.tokenizer('x').input_ids as Tensor).data as BigInt64Array, Number);
    const ids = [wrapped[0]!, ...words.slice(0, MAX_TOKENS - 2), wrapped.at(-1)!];
    const tensor = (values: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
    const mask = tensor(ids.map(() => 1));
    const { last_hidden_state } = (await extractor.model({ input_ids: tensor(ids), attention_mask: mask, token_type_ids: tensor(ids.map(() => 0)) })) as {
      last_hidden_state: Tensor;
    };
    return { vector: mean_pooling(last_hidden_state, mask).normalize(2, -1).data as Float32Array, tokens: ids.length };
  }

  it.each(TEXTS.map((text) => [text.slice(0, 40), text]))('embeds %j as transformers.js does, with the same token count', async (_name, text) => {
    const response = await t.post('/v1/embeddings', { model: 'tiny-bert', input: text });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    const expected = await reference(text);
    expect(body.data[0]!.embedding).toHaveLength(expected.vector.length);
    expect(cosine(body.data[0]!.embedding, expected.vector)).toBeGreaterThanOrEqual(0.9999);
    expect(body.usage.prompt_tokens).toBe(expected.tokens);
  });

  it('agrees on a batch of all of them at once, where padding comes into play', async () => {
    const response = await t.post('/v1/embeddings', { model: 'tiny-bert', input: TEXTS });
    const body = (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    const expected = await Promise.all(TEXTS.map(reference));
    body.data.forEach((item, i) => expect(cosine(item.embedding, expected[i]!.vector), TEXTS[i]).toBeGreaterThanOrEqual(0.9999));
    expect(body.usage.prompt_tokens).toBe(expected.reduce((sum, e) => sum + e.tokens, 0));
    // The long text really is past the model's length: the truncation was put to the test.
    expect(Math.max(...expected.map((e) => e.tokens))).toBe(MAX_TOKENS);
  });
});
