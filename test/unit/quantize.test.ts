import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { quantizeOnnxFile } from '../../src/adapters/onnx/quantize.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { loadModel } from '../../src/bootstrap/engines.js';
import { compare, quantizeConfiguredModel } from '../../src/cli/model-quantize.js';
import { cosine } from '../../src/domain/index.js';
import { MINILM_L6, writeBertFolder, writeCrossEncoderFolder } from '../support/bert-fixture.js';
import { REPO_ROOT } from '../support/paths.js';

const { onnx } = onnxProto;

function opTypes(file: Buffer): string[] {
  return onnx.ModelProto.decode(file).graph!.node!.map((n) => n.opType!);
}

describe('models:quantize', () => {
  let work: string;
  let mlConfigPath: string;
  const logs: string[] = [];
  const configOf = () => loadConfig({ env: { ML_CONFIG_PATH: mlConfigPath }, cwd: REPO_ROOT });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'quantize-'));
    await writeBertFolder(join(work, 'tiny'), { nested: true, maxSeqLength: 64 });
    await writeCrossEncoderFolder(join(work, 'ranker'), { nested: true });
    mlConfigPath = join(work, 'ml_config.yaml');
    await writeFile(
      mlConfigPath,
      [
        '# what we serve',
        'default_model: tiny',
        'models:',
        '  - id: tiny # the small one',
        '    engine: onnx',
        `    path: ${join(work, 'tiny')}`,
        '    pooling: mean',
        '    prompts: { query: "query: " }',
        '  - id: ranker',
        '    kind: reranker',
        '    engine: onnx',
        `    path: ${join(work, 'ranker')}`,
        '  - id: use',
        '    engine: use-lite',
        '',
      ].join('\n'),
    );
  });

  it('writes model_quantized.onnx beside the graph, with every weight MatMul fused into DynamicQuantizeMatMul and its bias', async () => {
    const { id, report, agreement } = await quantizeConfiguredModel({ modelId: 'tiny', config: configOf(), mlConfigPath, check: true, log: (l) => logs.push(l) });
    expect(id).toBe('tiny-int8');
    // Two layers of Q, K, V, attention output, intermediate and output: twelve.
    expect(report.matMuls).toBe(12);
    const ops = opTypes(await readFile(join(work, 'tiny', 'onnx', 'model_quantized.onnx')));
    expect(ops.filter((op) => op === 'DynamicQuantizeMatMul')).toHaveLength(12);
    // What is left in float: attention's two activation × activation MatMuls per layer.
    expect(ops.filter((op) => op === 'MatMul')).toHaveLength(4);
    // The biases went into the fused kernel; the residual Adds stay.
    expect(ops.filter((op) => op === 'Add').length).toBeLessThan(opTypes(await readFile(join(work, 'tiny', 'onnx', 'model.onnx'))).filter((op) => op === 'Add').length - 11);
    expect(agreement!.minCosine).toBeGreaterThan(0.99);
    expect(logs.join('\n')).toMatch(/mean cosine 0\.99\d+|mean cosine 1\.0+/);
  });

  it('adds <model>-int8 to ml_config.yaml with the original settings, and the service loads and serves it', async () => {
    const text = await readFile(mlConfigPath, 'utf8');
    expect(text).toContain('# what we serve');
    const entry = configOf().ml.models.find((m) => m.id === 'tiny-int8')!;
    expect(entry).toMatchObject({ engine: 'onnx', path: join(work, 'tiny'), onnx_file: 'onnx/model_quantized.onnx', pooling: 'mean', prompts: { query: 'query: ' } });
    expect(entry.description).toContain('int8');
    const loaded = await loadModel(entry, { intraOpThreads: 1, spinning: false });
    const original = await loadModel(configOf().ml.models.find((m) => m.id === 'tiny')!, { intraOpThreads: 1, spinning: false });
    if (loaded.kind !== 'embedding' || original.kind !== 'embedding') throw new Error('expected embedding models');
    const [a, b] = await Promise.all([original.model.embed(['an int8 model']), loaded.model.embed(['an int8 model'])]);
    expect(b.tokenCounts).toEqual(a.tokenCounts);
    expect(cosine(a.vectors[0]!, b.vectors[0]!)).toBeGreaterThan(0.99);
    await Promise.all([loaded.model.close(), original.model.close()]);
  });

  it('quantizes a reranker the same way, and measures how its scores agree', async () => {
    const { id, agreement } = await quantizeConfiguredModel({ modelId: 'ranker', config: configOf(), mlConfigPath, check: true, log: () => {} });
    expect(id).toBe('ranker-int8');
    expect(configOf().ml.models.find((m) => m.id === id)).toMatchObject({ kind: 'reranker', onnx_file: 'onnx/model_quantized.onnx' });
    expect(agreement!.scoreCorrelation).toBeGreaterThan(0.99);
  });

  it('refuses what it cannot quantize, saying why', async () => {
    await expect(quantizeConfiguredModel({ modelId: 'use', config: configOf(), mlConfigPath, check: false, log: () => {} })).rejects.toThrow(/only ONNX models quantize/);
    await expect(quantizeConfiguredModel({ modelId: 'nope', config: configOf(), mlConfigPath, check: false, log: () => {} })).rejects.toThrow(/not in/);
    // A graph already in int8 has no float weight left to quantize.
    await expect(quantizeOnnxFile(join(work, 'tiny', 'onnx', 'model_quantized.onnx'), join(work, 'twice.onnx'))).rejects.toThrow(/nothing to quantize/);
  });

  it('on the exact all-MiniLM-L6-v2 shape: its embedding table in int8 too, a quarter of the bytes, and a cosine to fp32 above 0.99', async () => {
    const dir = await writeBertFolder(join(work, 'l6'), { shape: MINILM_L6, nested: true });
    const report = await quantizeOnnxFile(join(dir, 'onnx', 'model.onnx'), join(dir, 'onnx', 'model_quantized.onnx'));
    expect(report).toMatchObject({ matMuls: 36, gathers: 1 });
    expect(report.bytesAfter).toBeLessThan(report.bytesBefore * 0.3);
    expect((await stat(join(dir, 'onnx', 'model_quantized.onnx'))).size).toBe(report.bytesAfter);
    const base = { engine: 'onnx' as const, kind: 'embedding' as const, path: dir };
    const agreement = await compare({ ...base, id: 'l6' }, { ...base, id: 'l6-int8', onnx_file: 'onnx/model_quantized.onnx' });
    expect(agreement.meanCosine).toBeGreaterThan(0.99);
  });
});

describe('the quantizer on operators sentence-transformers exports also use', () => {
  it('quantizes a Gemm with transposed weights and its bias, and a large embedding table per row, within int8 rounding of float', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gemm-'));
    const [rows, hidden, out] = [1 << 14, 64, 16];
    let seed = 7;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
    const floats = (name: string, dims: number[]) => ({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, noise).buffer),
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [
          { opType: 'Gather', input: ['table', 'ids'], output: ['rows'], name: 'gather' },
          { opType: 'Gemm', input: ['rows', 'w', 'b'], output: ['y'], name: 'gemm', attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
        ],
        initializer: [floats('table', [rows, hidden]), floats('w', [out, hidden]), floats('b', [out])],
        input: [{ name: 'ids', type: { tensorType: { elemType: onnx.TensorProto.DataType.INT64, shape: { dim: [{ dimParam: 'n' }] } } } }],
        output: [{ name: 'y', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'n' }, { dimValue: out }] } } } }],
      },
    });
    await writeFile(join(dir, 'float.onnx'), onnx.ModelProto.encode(model).finish());
    expect(await quantizeOnnxFile(join(dir, 'float.onnx'), join(dir, 'int8.onnx'))).toMatchObject({ matMuls: 1, gathers: 1 });
    const ids = new ort.Tensor('int64', BigInt64Array.from([0n, 5n, 1234n, BigInt(rows - 1)]), [4]);
    const run = async (file: string) => {
      const session = await ort.InferenceSession.create(join(dir, file));
      const { y } = await session.run({ ids });
      await session.release();
      return y!.data as Float32Array;
    };
    const [expected, actual] = [await run('float.onnx'), await run('int8.onnx')];
    const scale = Math.max(...expected.map(Math.abs));
    expected.forEach((value, i) => expect(Math.abs(actual[i]! - value)).toBeLessThan(scale * 0.03));
  });
});
