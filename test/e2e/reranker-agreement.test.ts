import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoModelForSequenceClassification, AutoTokenizer, env, Tensor, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { relevanceScore } from '../../src/domain/index.js';
import { MS_MARCO_MINILM_L6, TINY_BERT, writeCrossEncoderFolder } from '../support/bert-fixture.js';

/*
 * An independent check of the reranker: transformers.js's
 * AutoModelForSequenceClassification and its tokenizer run the same
 * CrossEncoder folder, and the service's pair tokenization and logits must
 * agree with them, to 1e-4.
 *
 * Past the model's length, transformers.js cuts the joined pair at the end,
 * which loses the final [SEP]; Hugging Face tokenizers (which
 * sentence-transformers' CrossEncoder and TEI use) cut the longer sequence
 * and keep the special tokens, and so does the service. For a long pair the
 * reference is therefore transformers.js's tokens cut that way, and its
 * model run on them.
 */

const QUERY = 'how do cross-encoders score a passage?';
const DOCUMENTS = [
  'A cross-encoder reads the query and the passage together and gives one score.',
  'Bananas are yellow.',
  'Ünïcödé naïve café — “quotes”, 日本語 and émojis 🙂',
  'x',
  'a passage far longer than the model can take, so that it must be cut to leave room for the query and the special tokens, '.repeat(4),
];

interface Reference {
  readonly ids: number[];
  readonly typeIds: number[];
  readonly logits: number[];
}

async function withTransformersJs(folder: string) {
  env.allowRemoteModels = false;
  env.localModelPath = `${join(folder, '..')}/`;
  const name = folder.split('/').at(-1)!;
  const tokenizer: PreTrainedTokenizer = await AutoTokenizer.from_pretrained(name);
  const model: PreTrainedModel = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: 'fp32', device: 'cpu', subfolder: '' });
  const ids = (value: unknown) => Array.from((value as Tensor).data as BigInt64Array, Number);
  const tensor = (values: number[]) => new Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);

  /** transformers.js's tokens and logits for a pair, cut as tokenizers' longest_first cuts it when too long. */
  const reference = async (query: string, document: string, maxLength: number): Promise<Reference> => {
    const whole = tokenizer(query, { text_pair: document });
    let input = ids(whole.input_ids);
    let types = ids(whole.token_type_ids);
    if (input.length > maxLength) {
      const q = ids(tokenizer(query, { add_special_tokens: false }).input_ids);
      const d = ids(tokenizer(document, { add_special_tokens: false }).input_ids);
      const [cls, sep] = [input[0]!, input.at(-1)!];
      const keep = maxLength - 3 - q.length;
      input = [cls, ...q, sep, ...d.slice(0, keep), sep];
      types = [...Array(q.length + 2).fill(0), ...Array(keep + 1).fill(1)];
    }
    const { logits } = (await model({ input_ids: tensor(input), attention_mask: tensor(input.map(() => 1)), token_type_ids: tensor(types) })) as { logits: Tensor };
    return { ids: input, typeIds: types, logits: Array.from(logits.data as Float32Array) };
  };
  return { reference, close: () => model.dispose() };
}

describe.each([
  ['a small cross-encoder, 32 tokens at most', TINY_BERT, 32],
  ['the exact shape of cross-encoder/ms-marco-MiniLM-L6-v2', MS_MARCO_MINILM_L6, 512],
])('the reranker agrees with transformers.js: %s', (_name, shape, maxLength) => {
  let dir: string;
  let folder: string;
  let reranker: OnnxReranker;
  let js: Awaited<ReturnType<typeof withTransformersJs>>;
  const documents = maxLength > 32 ? DOCUMENTS.map((d, i) => (i === DOCUMENTS.length - 1 ? d.repeat(12) : d)) : DOCUMENTS;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cross-encoder-'));
    folder = await writeCrossEncoderFolder(join(dir, 'cross-encoder'), { shape, maxLength, seed: 7 });
    reranker = await OnnxReranker.load({ id: 'cross-encoder', path: folder, intraOpThreads: 1 });
    js = await withTransformersJs(folder);
  }, 120_000);
  afterAll(async () => {
    await reranker?.close();
    await js?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads its length and labels from the folder', () => {
    expect(reranker.info).toMatchObject({ maxTokens: maxLength, labels: 1, scoreLabel: 0 });
  });

  it('tokenizes every pair as transformers.js does, cutting a long document and keeping the special tokens', async () => {
    const pairs = await reranker.tokenizePairs(QUERY, documents);
    const references = await Promise.all(documents.map((d) => js.reference(QUERY, d, maxLength)));
    pairs.forEach((pair, i) => {
      expect(pair.ids, documents[i]).toEqual(references[i]!.ids);
      expect(pair.typeIds, documents[i]).toEqual(references[i]!.typeIds);
    });
    // The long document really was cut: the truncation was put to the test.
    expect(pairs.at(-1)!.ids).toHaveLength(maxLength);
  });

  it('gives every pair transformers.js’s logits to 1e-4, in one batch where padding comes into play, and a score spread over (0, 1)', async () => {
    const logits = await reranker.scoreTokenized(await reranker.tokenizePairs(QUERY, documents));
    const references = await Promise.all(documents.map((d) => js.reference(QUERY, d, maxLength)));
    logits.forEach((row, i) => {
      expect(row).toHaveLength(1);
      expect(Math.abs(row[0]! - references[i]!.logits[0]!), documents[i]).toBeLessThan(1e-4);
    });
    // Pairs tell apart: a model whose every pair scored alike would put nothing above reranking's tests.
    const scores = logits.map((row) => relevanceScore(row));
    expect(scores.every((score) => score > 0 && score < 1)).toBe(true);
    expect(new Set(scores).size).toBe(scores.length);
    expect(Math.max(...scores) - Math.min(...scores)).toBeGreaterThan(0.1);
  });
});
