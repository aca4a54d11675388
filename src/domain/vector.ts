/**
 * The first `dimensions` components, scaled back to unit length: how models
 * trained for it (Matryoshka embeddings) are shortened.
 */
export function shorten(vector: Float32Array, dimensions: number): Float32Array {
  return l2Normalize(vector.slice(0, dimensions));
}

/** Scales the vector to unit length in place (a zero vector stays zero). */
export function l2Normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
  return vector;
}
