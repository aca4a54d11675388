import { InferenceError, ValidationError } from '../../domain/index.js';

/**
 * One inference as every engine runs it: an empty batch is refused, a
 * failure of the runtime becomes an `InferenceError` naming the model, and
 * the engine's output (`dimensions`-long vectors laid end to end, one per
 * row) is cut into vectors, as the engine gave them (never normalized here:
 * whether a vector is scaled to unit length is the task's choice).
 */
export async function inferRows(
  model: { readonly id: string },
  rows: number,
  run: () => Promise<{ readonly vectors: Float32Array; readonly dimensions: number }>,
): Promise<Float32Array[]> {
  if (rows === 0) throw new ValidationError('No texts to run the model on.');
  let output: { readonly vectors: Float32Array; readonly dimensions: number };
  try {
    output = await run();
  } catch (error) {
    throw new InferenceError(`Model '${model.id}' failed: ${(error as Error).message}`, { cause: error });
  }
  return splitRows(output.vectors, rows, output.dimensions);
}

/**
 * Cuts `rows` vectors laid end to end into one vector per row. Each is a
 * copy, so that a stored result does not keep the whole batch's buffer alive.
 */
export function splitRows(data: Float32Array, rows: number, dimensions: number): Float32Array[] {
  const vectors: Float32Array[] = [];
  for (let row = 0; row < rows; row++) vectors.push(data.slice(row * dimensions, (row + 1) * dimensions));
  return vectors;
}
