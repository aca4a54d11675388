import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pooling } from '../../domain/index.js';

/** Where the parts of a sentence-transformers ONNX export are, and how it pools. */
export interface SentenceTransformersFolder {
  readonly modelFile: string;
  readonly tokenizerFile: string;
  readonly hiddenSize: number;
  readonly maxSeqLength: number;
  readonly pooling: Pooling;
  readonly normalize: boolean;
}

interface ModuleEntry {
  readonly path?: string;
  readonly type?: string;
}

const POOLING_FLAGS: ReadonlyArray<[string, Pooling]> = [
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_max_tokens', 'max'],
];

/**
 * Reads the folder layout that `sentence-transformers` exports and the Hugging
 * Face hub serves: `tokenizer.json`, `config.json`, `model.onnx` or
 * `onnx/model.onnx`, `modules.json`, the pooling module's `config.json`, and
 * `sentence_bert_config.json`. Files other than the model, tokenizer and
 * config are optional; their defaults are what sentence-transformers assumes.
 */
export async function readSentenceTransformersFolder(dir: string, onnxFile?: string): Promise<SentenceTransformersFolder> {
  const modelFile = await findModelFile(dir, onnxFile);
  const tokenizerFile = join(dir, 'tokenizer.json');
  const config = await readJson<{ hidden_size?: number; max_position_embeddings?: number }>(join(dir, 'config.json'));
  if (!config?.hidden_size) throw new Error(`${join(dir, 'config.json')} is missing or names no hidden_size`);

  const modules = (await readJson<ModuleEntry[]>(join(dir, 'modules.json'))) ?? [];
  const poolingPath = modules.find((m) => m.type?.endsWith('.Pooling'))?.path ?? '1_Pooling';
  const poolingConfig = (await readJson<Record<string, unknown>>(join(dir, poolingPath, 'config.json'))) ?? {};
  const pooling = POOLING_FLAGS.find(([flag]) => poolingConfig[flag] === true)?.[1] ?? 'mean';
  const normalize = modules.some((m) => m.type?.endsWith('.Normalize'));

  const sbert = await readJson<{ max_seq_length?: number }>(join(dir, 'sentence_bert_config.json'));
  const tokenizerConfig = await readJson<{ model_max_length?: number }>(join(dir, 'tokenizer_config.json'));
  const maxSeqLength = Math.min(
    sbert?.max_seq_length ?? tokenizerConfig?.model_max_length ?? 512,
    config.max_position_embeddings ?? Number.POSITIVE_INFINITY,
  );

  return { modelFile, tokenizerFile, hiddenSize: config.hidden_size, maxSeqLength, pooling, normalize };
}

/** Where the parts of a sentence-transformers CrossEncoder export are, and what its classifier gives. */
export interface CrossEncoderFolder {
  readonly modelFile: string;
  readonly tokenizerFile: string;
  readonly maxLength: number;
  readonly labels: number;
  /** The label whose probability is the relevance score when there are several. */
  readonly scoreLabel: number;
}

/** Label names that say "this one is relevance"; any other model scores with its first label. */
const RELEVANCE_LABEL = /^(relevant|relevance|entailment|positive|yes|true)$/i;

/**
 * Reads a CrossEncoder export as the hub serves it: `model.onnx` or
 * `onnx/model.onnx`, `tokenizer.json`, `config.json` (its `id2label` gives
 * the labels) and, optionally, `tokenizer_config.json` (its
 * `model_max_length`, capped by the model's positions).
 */
export async function readCrossEncoderFolder(dir: string, onnxFile?: string): Promise<CrossEncoderFolder> {
  const modelFile = await findModelFile(dir, onnxFile);
  const config = await readJson<{ id2label?: Record<string, string>; num_labels?: number; max_position_embeddings?: number }>(join(dir, 'config.json'));
  if (!config) throw new Error(`${join(dir, 'config.json')} is missing`);
  const names = Object.entries(config.id2label ?? {}).sort(([a], [b]) => Number(a) - Number(b)).map(([, name]) => name);
  const labels = names.length || config.num_labels || 1;
  const tokenizerConfig = await readJson<{ model_max_length?: number }>(join(dir, 'tokenizer_config.json'));
  const maxLength = Math.min(
    // Tokenizers without a limit of their own write a huge sentinel here.
    tokenizerConfig?.model_max_length !== undefined && tokenizerConfig.model_max_length < 1e6 ? tokenizerConfig.model_max_length : 512,
    config.max_position_embeddings ?? Number.POSITIVE_INFINITY,
  );
  const scoreLabel = Math.max(0, names.findIndex((name) => RELEVANCE_LABEL.test(name)));
  return { modelFile, tokenizerFile: join(dir, 'tokenizer.json'), maxLength, labels, scoreLabel };
}

/** True when `dir` holds what `readSentenceTransformersFolder` needs at the least. */
export async function isSentenceTransformersFolder(dir: string, onnxFile?: string): Promise<boolean> {
  const model = await findModelFile(dir, onnxFile).catch(() => undefined);
  return model !== undefined && (await exists(join(dir, 'tokenizer.json'))) && (await exists(join(dir, 'config.json')));
}

/** The graph: `onnxFile` inside `dir` when given (an int8 variant's `onnx/model_quantized.onnx`), else where exports put it. */
async function findModelFile(dir: string, onnxFile?: string): Promise<string> {
  const candidates = onnxFile === undefined ? [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')] : [join(dir, onnxFile)];
  const modelFile = await firstExisting(candidates);
  if (!modelFile) throw new Error(`No ${onnxFile ?? 'model.onnx or onnx/model.onnx'} in ${dir}`);
  return modelFile;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  return JSON.parse(text) as T;
}

async function firstExisting(files: readonly string[]): Promise<string | undefined> {
  for (const file of files) if (await exists(file)) return file;
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
