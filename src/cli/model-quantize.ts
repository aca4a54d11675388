import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { quantizeOnnxFile, type QuantizeReport } from '../adapters/onnx/quantize.js';
import { readCrossEncoderFolder, readSentenceTransformersFolder } from '../adapters/onnx/sentence-transformers-folder.js';
import { cosine } from '../domain/index.js';
import type { AppConfig, ModelEntry } from '../bootstrap/config/schema.js';
import { isPresent, loadModel } from '../bootstrap/engines.js';
import { SAMPLE_QUERIES, SAMPLE_TEXTS } from './sample-texts.js';

/*
 * `npm run models:quantize -- <model>`: writes an int8 copy of a configured
 * ONNX model beside its graph (`model_quantized.onnx`) and adds it to
 * ml_config.yaml as `<model>-int8`, with the original's settings.
 */

export interface QuantizeCommand {
  readonly modelId: string;
  readonly config: AppConfig;
  readonly mlConfigPath: string;
  /** Compare the int8 model's output with the original's on a sample of texts. */
  readonly check: boolean;
  readonly log: (line: string) => void;
}

export interface Agreement {
  /** Embedding models: cosine of each sample text's int8 vector to its fp32 vector. */
  readonly meanCosine?: number;
  readonly minCosine?: number;
  /** Rerankers: Pearson correlation of the scores, and the largest difference of one. */
  readonly scoreCorrelation?: number;
  readonly maxScoreDifference?: number;
}

export async function quantizeConfiguredModel(command: QuantizeCommand): Promise<{ id: string; report: QuantizeReport; agreement?: Agreement }> {
  const entry = command.config.ml.models.find((m) => m.id === command.modelId);
  if (!entry) throw new Error(`'${command.modelId}' is not in ${command.mlConfigPath}; models:list shows what is`);
  if (entry.engine !== 'onnx' || entry.path === undefined) throw new Error(`'${entry.id}' runs on ${entry.engine}, not onnxruntime: only ONNX models quantize`);
  if (!(await isPresent(entry))) throw new Error(`'${entry.id}' has no files at ${entry.path}; fetch them with models:pull`);
  const read = entry.kind === 'reranker' ? readCrossEncoderFolder : readSentenceTransformersFolder;
  const { modelFile } = await read(entry.path, entry.onnx_file);
  const output = join(dirname(modelFile), 'model_quantized.onnx');

  command.log(`quantizing ${relative(process.cwd(), modelFile)} …`);
  const report = await quantizeOnnxFile(modelFile, output);
  command.log(
    `wrote ${relative(process.cwd(), output)}: ${report.matMuls} MatMul/Gemm in int8, ${report.gathers} embedding table(s) in int8, ` +
      `${megabytes(report.bytesBefore)} → ${megabytes(report.bytesAfter)}`,
  );
  const id = `${entry.id}-int8`;
  const quantized: ModelEntry = { ...entry, id, onnx_file: relative(entry.path, output) };
  const added = await addCopy(command.mlConfigPath, entry.id, {
    id,
    onnx_file: quantized.onnx_file!,
    description: `${entry.description ?? entry.id}, int8 (dynamic quantization by models:quantize)`,
  });
  command.log(added ? `added '${id}' to ${command.mlConfigPath}` : `'${id}' was already in ${command.mlConfigPath}; its graph is replaced`);
  if (!command.check) return { id, report };
  const agreement = await compare(entry, quantized);
  command.log(describe(agreement));
  return { id, report, agreement };
}

/** How the int8 model's answers differ from the original's, on the sample texts. */
export async function compare(original: ModelEntry, quantized: ModelEntry): Promise<Agreement> {
  const runtime = { intraOpThreads: 0, spinning: false };
  const [a, b] = await Promise.all([loadModel(original, runtime), loadModel(quantized, runtime)]);
  try {
    if (a.kind === 'embedding' && b.kind === 'embedding') {
      const [fp32, int8] = await Promise.all([a.model.embed(SAMPLE_TEXTS), b.model.embed(SAMPLE_TEXTS)]);
      const cosines = fp32.vectors.map((v, i) => cosine(v, int8.vectors[i]!));
      return { meanCosine: cosines.reduce((s, c) => s + c, 0) / cosines.length, minCosine: Math.min(...cosines) };
    }
    if (a.kind === 'reranker' && b.kind === 'reranker') {
      const scores = async (model: typeof a.model) => {
        const all: number[] = [];
        for (const query of SAMPLE_QUERIES) {
          const rows = await model.scoreTokenized(await model.tokenizePairs(query, SAMPLE_TEXTS));
          all.push(...rows.map((row) => row[0]!));
        }
        return all;
      };
      const [x, y] = [await scores(a.model), await scores(b.model)];
      return { scoreCorrelation: pearson(x, y), maxScoreDifference: Math.max(...x.map((v, i) => Math.abs(v - y[i]!))) };
    }
    throw new Error('the two models are of different kinds');
  } finally {
    await Promise.all([a.model.close(), b.model.close()]);
  }
}

export function describe(agreement: Agreement): string {
  if (agreement.meanCosine !== undefined) {
    return `int8 against fp32 on ${SAMPLE_TEXTS.length} texts: mean cosine ${agreement.meanCosine.toFixed(5)}, minimum ${agreement.minCosine!.toFixed(5)}`;
  }
  return (
    `int8 against fp32 on ${SAMPLE_QUERIES.length * SAMPLE_TEXTS.length} pairs: score correlation ${agreement.scoreCorrelation!.toFixed(5)}, ` +
    `largest difference ${agreement.maxScoreDifference!.toFixed(4)}`
  );
}

function pearson(x: readonly number[], y: readonly number[]): number {
  const mean = (v: readonly number[]) => v.reduce((s, n) => s + n, 0) / v.length;
  const [mx, my] = [mean(x), mean(y)];
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  x.forEach((xi, i) => {
    sxy += (xi - mx) * (y[i]! - my);
    sxx += (xi - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  });
  return sxx === 0 || syy === 0 ? 1 : sxy / Math.sqrt(sxx * syy);
}

/** Adds a copy of `sourceId`'s entry (its prompts, pooling, limits…) with `changes`, unless `changes.id` is there. */
async function addCopy(file: string, sourceId: string, changes: { id: string } & Record<string, string>): Promise<boolean> {
  const document = parseDocument(await readFile(file, 'utf8'));
  const models = document.get('models');
  if (!isSeq(models)) throw new Error(`${file} has no models list`);
  if (models.items.some((item) => isMap(item) && item.get('id') === changes.id)) return false;
  const source = models.items.find((item): item is YAMLMap => isMap(item) && item.get('id') === sourceId);
  if (!source) throw new Error(`${file} has no model '${sourceId}'`);
  const copy = source.clone();
  copy.commentBefore = null;
  for (const [key, value] of Object.entries(changes)) copy.set(key, value);
  models.add(copy);
  await writeFile(file, document.toString());
  return true;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
