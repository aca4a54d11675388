import type { Pooling } from '../../domain/index.js';

/**
 * Pools token embeddings `[batch, seq, hidden]` into one vector per row,
 * ignoring padded positions (mask 0), as sentence-transformers' Pooling does.
 */
export function pool(
  hidden: Float32Array,
  mask: BigInt64Array,
  batch: number,
  seq: number,
  dim: number,
  mode: Pooling,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const vector = new Float32Array(dim);
    const rowOffset = b * seq * dim;
    if (mode === 'cls') {
      vector.set(hidden.subarray(rowOffset, rowOffset + dim));
    } else if (mode === 'mean') {
      let count = 0;
      for (let t = 0; t < seq; t++) {
        if (mask[b * seq + t] === 0n) continue;
        count++;
        const base = rowOffset + t * dim;
        for (let d = 0; d < dim; d++) vector[d]! += hidden[base + d]!;
      }
      const scale = 1 / Math.max(count, 1e-9);
      for (let d = 0; d < dim; d++) vector[d]! *= scale;
    } else {
      vector.fill(Number.NEGATIVE_INFINITY);
      for (let t = 0; t < seq; t++) {
        if (mask[b * seq + t] === 0n) continue;
        const base = rowOffset + t * dim;
        for (let d = 0; d < dim; d++) if (hidden[base + d]! > vector[d]!) vector[d] = hidden[base + d]!;
      }
    }
    out.push(vector);
  }
  return out;
}
