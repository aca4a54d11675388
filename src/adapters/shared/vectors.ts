import { l2Normalize } from '../../domain/index.js';

/**
 * Cuts an engine's output, `rows` vectors of `dimensions` laid end to end,
 * into one vector per row, scaled to unit length when `normalize` is set.
 * Each vector is a copy, so that a stored result does not keep the whole
 * batch's buffer alive.
 */
export function splitRows(data: Float32Array, rows: number, dimensions: number, normalize: boolean): Float32Array[] {
  const vectors: Float32Array[] = [];
  for (let row = 0; row < rows; row++) {
    const vector = data.slice(row * dimensions, (row + 1) * dimensions);
    vectors.push(normalize ? l2Normalize(vector) : vector);
  }
  return vectors;
}
