import { open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import onnxProto from 'onnx-proto';

/*
 * Dynamic int8 quantization of an ONNX export, as onnxruntime's Python
 * `quantize_dynamic(per_channel=True, weight_type=QInt8)` does it, in
 * TypeScript: the weights of every MatMul and Gemm whose second operand is
 * a constant are stored in int8, symmetric, one scale per output column;
 * onnxruntime quantizes the activations at run time (com.microsoft's
 * `DynamicQuantizeMatMul`, one fused kernel on the CPU, which also takes
 * the bias that followed the MatMul). Large embedding tables read by Gather
 * are stored in int8 with one scale per row and dequantized after the
 * lookup: they run no faster, but they are most of a small model's bytes.
 * Attention's MatMuls between two activations stay in float.
 */

const { onnx } = onnxProto;
type Tensor = onnxProto.onnx.ITensorProto;
type GraphNode = onnxProto.onnx.INodeProto;

const MICROSOFT = 'com.microsoft';
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT8 = onnx.TensorProto.DataType.INT8;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;
/** An embedding table smaller than this stays in float: its bytes do not matter. */
const GATHER_MIN_ELEMENTS = 1 << 20;

export interface QuantizeReport {
  /** MatMul and Gemm nodes now running in int8. */
  readonly matMuls: number;
  /** Embedding tables now stored in int8. */
  readonly gathers: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Quantizes the ONNX file `input` (reading its external data, if any) into `output`, a self-contained file. */
export async function quantizeOnnxFile(input: string, output: string): Promise<QuantizeReport> {
  const file = await readFile(input);
  const model = onnx.ModelProto.decode(file);
  const bytesBefore = file.length + (await inlineExternalData(model, dirname(input)));
  const counts = quantizeModel(model);
  const bytes = onnx.ModelProto.encode(model).finish();
  await writeFile(output, bytes);
  return { ...counts, bytesBefore, bytesAfter: bytes.length };
}

/** Rewrites `model` in place; what was quantized. Throws when there is nothing to quantize. */
export function quantizeModel(model: onnxProto.onnx.ModelProto): { matMuls: number; gathers: number } {
  // Decoded messages hold every repeated field, empty or not.
  const graph = model.graph as onnxProto.onnx.GraphProto | null;
  if (!graph) throw new Error('the ONNX file has no graph');
  const initializers = new Map(graph.initializer.map((t) => [t.name!, t]));
  const consumers = new Map<string, GraphNode[]>();
  for (const node of graph.node) for (const name of node.input ?? []) consumers.set(name, [...(consumers.get(name) ?? []), node]);
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const weight = (name: string | undefined) => {
    const tensor = name === undefined ? undefined : initializers.get(name);
    return tensor && tensor.dataType === FLOAT && tensor.dims?.length === 2 ? tensor : undefined;
  };
  const added = new Map<string, Tensor>();
  const quantized = (tensor: Tensor, axis: 'column' | 'row') => {
    const name = `${tensor.name}_int8_${axis}`;
    if (!added.has(name)) for (const t of quantizeWeight(tensor, name, axis)) added.set(t.name!, t);
    return { values: name, scale: `${name}_scale`, zeroPoint: `${name}_zero_point` };
  };

  const nodes: GraphNode[] = [];
  const fused = new Set<GraphNode>();
  let matMuls = 0;
  let gathers = 0;
  for (const node of graph.node) {
    if (fused.has(node)) continue;
    const [a, b, c] = node.input ?? [];
    const w = weight(b);
    if (w && a && (node.opType === 'MatMul' || isPlainGemm(node, c, initializers))) {
      const columns = Number(w.dims![1]);
      const transposed = node.opType === 'Gemm' && intAttribute(node, 'transB') === 1;
      const q = quantized(transposed ? transpose(w) : w, 'column');
      // A bias added right after the MatMul (or Gemm's own C) runs inside the fused kernel.
      const add = node.opType === 'MatMul' ? biasAdd(node, consumers, initializers, graphOutputs, columns) : undefined;
      const bias = node.opType === 'Gemm' ? c : add?.bias;
      if (add) fused.add(add.node);
      nodes.push({
        opType: 'DynamicQuantizeMatMul',
        domain: MICROSOFT,
        name: `${node.name ?? node.output![0]}_int8`,
        input: [a, q.values, q.scale, q.zeroPoint, ...(bias ? [bias] : [])],
        output: add ? add.node.output : node.output,
      });
      matMuls++;
      continue;
    }
    const table = node.opType === 'Gather' && (intAttribute(node, 'axis') ?? 0) === 0 ? weight(a) : undefined;
    if (table && b && elements(table) >= GATHER_MIN_ELEMENTS) {
      const q = quantized(table, 'row');
      const out = node.output![0]!;
      nodes.push(
        { opType: 'Gather', name: `${out}_int8`, input: [q.values, b], output: [`${out}_int8`] },
        { opType: 'Cast', name: `${out}_float`, input: [`${out}_int8`], output: [`${out}_float`], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] },
        { opType: 'Gather', name: `${out}_scales`, input: [q.scale, b], output: [`${out}_scales`] },
        { opType: 'Mul', name: `${out}_dequantized`, input: [`${out}_float`, `${out}_scales`], output: [out] },
      );
      gathers++;
      continue;
    }
    nodes.push(node);
  }
  if (matMuls === 0) throw new Error('no MatMul or Gemm with a constant weight: nothing to quantize (is it already quantized?)');

  graph.node = nodes;
  graph.initializer = [...graph.initializer, ...added.values()];
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  graph.initializer = graph.initializer.filter((t) => used.has(t.name!) || graphOutputs.has(t.name!));
  const names = new Set([...nodes.flatMap((n) => n.output ?? []), ...graph.input.map((i) => i.name)]);
  graph.valueInfo = graph.valueInfo.filter((v) => names.has(v.name));
  if (!model.opsetImport.some((o) => o.domain === MICROSOFT)) model.opsetImport.push({ domain: MICROSOFT, version: 1 });
  return { matMuls, gathers };
}

/** A Gemm that is a plain `A·B + C` (what DynamicQuantizeMatMul computes), its C a vector or absent. */
function isPlainGemm(node: GraphNode, c: string | undefined, initializers: Map<string, Tensor>): boolean {
  if (node.opType !== 'Gemm' || intAttribute(node, 'transA') === 1) return false;
  if ((floatAttribute(node, 'alpha') ?? 1) !== 1 || (floatAttribute(node, 'beta') ?? 1) !== 1) return false;
  if (c === undefined || c === '') return true;
  const bias = initializers.get(c);
  return bias !== undefined && (bias.dims ?? []).filter((d) => Number(d) !== 1).length <= 1;
}

/** The Add that is a MatMul's only consumer, adding a constant vector of its columns. */
function biasAdd(node: GraphNode, consumers: Map<string, GraphNode[]>, initializers: Map<string, Tensor>, graphOutputs: Set<string | null | undefined>, columns: number) {
  const out = node.output![0]!;
  const readers = consumers.get(out) ?? [];
  if (graphOutputs.has(out) || readers.length !== 1 || readers[0]!.opType !== 'Add') return undefined;
  const add = readers[0]!;
  const bias = add.input!.find((name) => name !== out);
  const tensor = bias === undefined ? undefined : initializers.get(bias);
  if (!tensor || tensor.dataType !== FLOAT || tensor.dims?.length !== 1 || Number(tensor.dims[0]) !== columns) return undefined;
  return { node: add, bias: bias! };
}

/**
 * int8 values, symmetric (zero point 0), with a scale per column (a MatMul
 * weight's output channel) or per row (an embedding table's token).
 *
 * A MatMul's weights take 7 bits (±63), as `quantize_dynamic`'s
 * `reduce_range` does: on a CPU without VNNI (AVX2 alone), onnxruntime's
 * u8×s8 kernel adds pairs of products in 16 bits (vpmaddubsw), which
 * overflow with 8-bit weights (255 × 127 × 2 > 32,767) and wreck the
 * output; with 7 bits the sum always fits (255 × 64 × 2 < 32,767). An
 * embedding table, only looked up, keeps all 8 (±127).
 */
function quantizeWeight(tensor: Tensor, name: string, axis: 'column' | 'row'): Tensor[] {
  const [rows, columns] = tensor.dims!.map(Number) as [number, number];
  const values = floatsOf(tensor);
  const groups = axis === 'column' ? columns : rows;
  const index = axis === 'column' ? (r: number, c: number) => [c, r * columns + c] : (r: number, c: number) => [r, r * columns + c];
  const maxAbs = new Float32Array(groups);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const [g, i] = index(r, c) as [number, number];
      maxAbs[g] = Math.max(maxAbs[g]!, Math.abs(values[i]!));
    }
  }
  const limit = axis === 'column' ? 63 : 127;
  const scales = maxAbs.map((m) => (m > 0 ? m / limit : 1));
  const q = new Int8Array(values.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const [g, i] = index(r, c) as [number, number];
      q[i] = Math.max(-limit, Math.min(limit, Math.round(values[i]! / scales[g]!)));
    }
  }
  const scaleDims = axis === 'column' ? [columns] : [rows, 1];
  return [
    { name, dims: [rows, columns], dataType: INT8, rawData: new Uint8Array(q.buffer) },
    { name: `${name}_scale`, dims: scaleDims, dataType: FLOAT, rawData: new Uint8Array(scales.buffer) },
    { name: `${name}_zero_point`, dims: scaleDims, dataType: INT8, rawData: new Uint8Array(groups) },
  ];
}

function transpose(tensor: Tensor): Tensor {
  const [rows, columns] = tensor.dims!.map(Number) as [number, number];
  const values = floatsOf(tensor);
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c * rows + r] = values[r * columns + c]!;
  return { name: `${tensor.name}_transposed`, dims: [columns, rows], dataType: FLOAT, rawData: new Uint8Array(out.buffer) };
}

function floatsOf(tensor: Tensor): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) {
    // A copy: the decoded bytes are a view into the file's buffer (a Node Buffer, whose slice is no copy), at any alignment.
    return new Float32Array(new Uint8Array(tensor.rawData).buffer);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

function elements(tensor: Tensor): number {
  return (tensor.dims ?? []).reduce((n: number, d) => n * Number(d), 1);
}

function intAttribute(node: GraphNode, name: string): number | undefined {
  const attribute = node.attribute?.find((a) => a.name === name);
  return attribute?.i === undefined || attribute.i === null ? undefined : Number(attribute.i);
}

function floatAttribute(node: GraphNode, name: string): number | undefined {
  return node.attribute?.find((a) => a.name === name)?.f ?? undefined;
}

/** Reads tensors stored beside the graph (`model.onnx_data`) into it, so that the output stands alone; the bytes read. */
async function inlineExternalData(model: onnxProto.onnx.ModelProto, dir: string): Promise<number> {
  let read = 0;
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataLocation !== EXTERNAL) continue;
    const entry = (key: string) => tensor.externalData?.find((e) => e.key === key)?.value ?? undefined;
    const location = entry('location');
    if (!location) throw new Error(`tensor ${tensor.name} is stored outside the graph without a location`);
    const offset = Number(entry('offset') ?? 0);
    const length = Number(entry('length') ?? elements(tensor) * 4);
    const file = await open(join(dir, location), 'r');
    try {
      const bytes = new Uint8Array(length);
      await file.read(bytes, 0, length, offset);
      tensor.rawData = bytes;
      read += length;
    } finally {
      await file.close();
    }
    tensor.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    tensor.externalData = [];
  }
  return read;
}
