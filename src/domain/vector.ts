/**
 * The first `dimensions` components, scaled back to unit length (unless the
 * caller asked for vectors as the model pools them): how models trained for
 * it (Matryoshka embeddings) are shortened.
 */
export function shorten(vector: Float32Array, dimensions: number, normalize = true): Float32Array {
  const head = vector.slice(0, dimensions);
  return normalize ? l2Normalize(head) : head;
}

/**
 * A model's pooled vectors as they are answered: scaled to unit length (in
 * place) when `normalize`, as the model's own Normalize module would, or
 * left as pooled. Engines return vectors unscaled, so that each task can choose.
 */
export function finishVectors<T extends readonly Float32Array[]>(vectors: T, normalize: boolean): T {
  if (normalize) for (const vector of vectors) l2Normalize(vector);
  return vectors;
}

/** The cosine of the angle between two vectors of one length: 0 when either is zero. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 || bb === 0 ? 0 : dot / Math.sqrt(aa * bb);
}

/** Scales the vector to unit length in place (a zero vector stays zero). */
export function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}

/**
 * The compact forms a vector can be answered in (Cohere's and Voyage's
 * `embedding_types`), beside floats: a fixed scheme, so that a vector's
 * compact form never depends on what else was in its batch.
 */
export const COMPACT_TYPES = ['int8', 'uint8', 'binary', 'ubinary'] as const;
export type CompactType = (typeof COMPACT_TYPES)[number];

/**
 * A vector in a compact form, as integers:
 * - `int8`: `round(127 × x)` of the unit-length vector, clamped to −127..127;
 *   `uint8`: that plus 128;
 * - `ubinary`: the signs (`x > 0`), 8 dimensions a byte, the first in the
 *   high bit, the last byte padded with zeros (numpy's `packbits`);
 *   `binary`: those bytes minus 128, as sentence-transformers'
 *   `quantize_embeddings` gives them.
 */
export function compact(vector: Float32Array, type: CompactType): number[] {
  if (type === 'binary' || type === 'ubinary') {
    const bytes = new Array<number>(Math.ceil(vector.length / 8)).fill(0);
    for (let i = 0; i < vector.length; i++) if (vector[i]! > 0) bytes[i >> 3]! |= 0x80 >> (i & 7);
    return type === 'ubinary' ? bytes : bytes.map((b) => b - 128);
  }
  const unit = l2Normalize(Float32Array.from(vector));
  const offset = type === 'uint8' ? 128 : 0;
  return Array.from(unit, (x) => Math.min(127, Math.max(-127, Math.round(127 * x))) + offset);
}

/** How an embedding route answers a vector: floats, OpenAI's base64 of float32, or a compact form. */
export const VECTOR_ENCODINGS = ['float', 'base64', ...COMPACT_TYPES] as const;
export type VectorEncoding = (typeof VECTOR_ENCODINGS)[number];
