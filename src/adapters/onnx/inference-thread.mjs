// @ts-check
/*
 * The ONNX session runs here, in a worker thread: onnxruntime-node's
 * session.run is synchronous, and on the main thread it would block HTTP,
 * the broker and the store for the whole inference. Plain JavaScript, so the
 * same file loads under tsx, vitest and compiled builds alike.
 *
 * Protocol (ids and errors are handled by serveRequests):
 *   { type: 'load', modelFile, options, pooling } → { ok, inputNames, outputNames }
 *   { type: 'run', batch, seq, ids, mask, types }  (BigInt64Array, transferred)
 *     → { ok, vectors: Float32Array [batch × dim], pooled, not normalised; dim }
 *   { type: 'close' } → { ok }
 * A failure answers { ok: false, error }.
 */
import * as ort from 'onnxruntime-node';
import { serveRequests } from '../shared/thread-server.mjs';

/** @type {ort.InferenceSession | undefined} */
let session;
/** @type {{ output: string, pooling: 'mean' | 'cls' | 'max' }} */
let settings = { output: '', pooling: 'mean' };

serveRequests(handle);

/** @param {any} message */
async function handle(message) {
  switch (message.type) {
    case 'load': {
      session = await ort.InferenceSession.create(message.modelFile, message.options);
      const output = session.outputNames.find((n) => ['last_hidden_state', 'token_embeddings'].includes(n)) ?? session.outputNames[0];
      if (!output) throw new Error(`${message.modelFile} has no outputs`);
      settings = { output, pooling: message.pooling };
      return { inputNames: session.inputNames, outputNames: session.outputNames };
    }
    case 'run':
      return run(message);
    case 'close':
      await session?.release();
      session = undefined;
      return {};
    default:
      throw new Error(`unknown message type ${message.type}`);
  }
}

/** @param {{ batch: number, seq: number, ids: BigInt64Array, mask: BigInt64Array, types: BigInt64Array }} m */
async function run(m) {
  if (!session) throw new Error('no model loaded');
  const dims = [m.batch, m.seq];
  /** @type {Record<string, ort.Tensor>} */
  const available = {
    input_ids: new ort.Tensor('int64', m.ids, dims),
    attention_mask: new ort.Tensor('int64', m.mask, dims),
    token_type_ids: new ort.Tensor('int64', m.types, dims),
  };
  /** @type {Record<string, ort.Tensor>} */
  const feeds = {};
  for (const name of session.inputNames) {
    const tensor = available[name];
    if (!tensor) throw new Error(`the model takes an input this service does not provide: ${name}`);
    feeds[name] = tensor;
  }
  const results = await session.run(feeds, [settings.output]);
  const out = /** @type {ort.Tensor} */ (results[settings.output]);
  try {
    const data = /** @type {Float32Array} */ (out.data);
    // A 2-D output is already one vector per text (a `sentence_embedding` export).
    const dim = out.dims.length === 2 ? Number(out.dims[1]) : Number(out.dims[2]);
    const vectors = out.dims.length === 2 ? data.slice() : pool(data, m.mask, m.batch, m.seq, dim, settings.pooling);
    return { vectors, dim };
  } finally {
    out.dispose();
  }
}

/**
 * Pools token states [batch, seq, dim] into [batch, dim], ignoring padded
 * positions (mask 0), as sentence-transformers' Pooling module does.
 * @param {Float32Array} hidden @param {BigInt64Array} mask
 * @param {number} batch @param {number} seq @param {number} dim @param {'mean' | 'cls' | 'max'} mode
 */
export function pool(hidden, mask, batch, seq, dim, mode) {
  const out = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const row = b * seq * dim;
    const target = b * dim;
    if (mode === 'cls') {
      out.set(hidden.subarray(row, row + dim), target);
      continue;
    }
    if (mode === 'max') out.fill(Number.NEGATIVE_INFINITY, target, target + dim);
    let count = 0;
    for (let t = 0; t < seq; t++) {
      if (mask[b * seq + t] === 0n) continue;
      count++;
      const base = row + t * dim;
      for (let d = 0; d < dim; d++) {
        const x = /** @type {number} */ (hidden[base + d]);
        const i = target + d;
        const current = /** @type {number} */ (out[i]);
        if (mode === 'mean') out[i] = current + x;
        else if (x > current) out[i] = x;
      }
    }
    if (mode === 'mean') {
      const scale = 1 / Math.max(count, 1e-9);
      for (let d = 0; d < dim; d++) out[target + d] = /** @type {number} */ (out[target + d]) * scale;
    }
  }
  return out;
}
