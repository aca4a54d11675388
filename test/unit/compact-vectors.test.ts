import { describe, expect, it } from 'vitest';
import { compact, l2Normalize } from '../../src/domain/index.js';

/*
 * Compact vectors against references written here from their definitions:
 * sentence-transformers' quantize_embeddings packs signs with numpy's
 * packbits (first dimension in the high bit, the last byte padded with
 * zeros; binary is ubinary − 128), and int8 is round(127 × x) of the
 * unit-length vector.
 */

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 30 - 1;
  };
}

/** numpy.packbits(vector > 0): the bits as a string of 0s and 1s, cut into bytes of 8, read as base-2 numbers. */
function packbits(vector: Float32Array): number[] {
  const bits = Array.from(vector, (x) => (x > 0 ? '1' : '0')).join('');
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Array.from({ length: padded.length / 8 }, (_, i) => parseInt(padded.slice(i * 8, i * 8 + 8), 2));
}

describe('compact vectors', () => {
  const random = seeded(7);
  const vectors = [16, 13, 384, 1].map((n) => Float32Array.from({ length: n }, () => random() * 3));

  it.each(vectors.map((v) => [v.length, v] as const))('packs the signs of %i dimensions as numpy.packbits does (ubinary), and binary as those bytes − 128', (_n, vector) => {
    const ubinary = compact(vector, 'ubinary');
    expect(ubinary).toEqual(packbits(vector));
    expect(ubinary).toHaveLength(Math.ceil(vector.length / 8));
    expect(compact(vector, 'binary')).toEqual(ubinary.map((b) => b - 128));
  });

  it('counts zero as not positive, and pads a short last byte with zeros', () => {
    expect(compact(Float32Array.of(1, 0, -1, 2, 0.5, -0.1, 3, 1e-9, 4), 'ubinary')).toEqual([0b10011011, 0b10000000]);
  });

  it.each(vectors.map((v) => [v.length, v] as const))('gives int8 as round(127 × x) of the unit-length vector, and uint8 as int8 + 128 (%i dimensions)', (_n, vector) => {
    const unit = l2Normalize(Float32Array.from(vector));
    const int8 = compact(vector, 'int8');
    expect(int8).toEqual(Array.from(unit, (x) => Math.round(127 * x) || 0)); // JSON has no −0
    expect(int8.every((v) => Number.isInteger(v) && v >= -127 && v <= 127)).toBe(true);
    expect(compact(vector, 'uint8')).toEqual(int8.map((v) => v + 128));
  });

  it('does not change the vector it is given, nor depend on its scale', () => {
    const vector = Float32Array.of(3, -4);
    expect(compact(vector, 'int8')).toEqual([Math.round(127 * 0.6), Math.round(-127 * 0.8)]);
    expect(compact(Float32Array.of(30, -40), 'int8')).toEqual(compact(vector, 'int8'));
    expect(Array.from(vector)).toEqual([3, -4]);
  });
});
