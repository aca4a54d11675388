import { finishVectors, ValidationError, type Embeddings, type ModelInfo, type TextInput, type TokenizedText } from '../../domain/index.js';

/**
 * Rejects token ids outside a model's vocabulary (`0 … vocabularySize - 1`),
 * naming the input at fault by its JSON path.
 */
export function checkTokenIds(ids: readonly number[], vocabularySize: number, modelId: string, path: string): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabularySize);
  if (bad === undefined) return;
  const message = `Token id ${bad} is not in the vocabulary of model '${modelId}' (0–${vocabularySize - 1}).`;
  throw new ValidationError(message, [{ path, message }]);
}

/** `embed` as every engine defines it: tokenize, then one inference over the result, its vectors finished as the model's are by default. */
export async function embedInputs(
  model: {
    readonly info: Pick<ModelInfo, 'normalize'>;
    tokenize(inputs: readonly TextInput[]): Promise<readonly TokenizedText[]>;
    embedTokenized(batch: readonly TokenizedText[]): Promise<readonly Float32Array[]>;
  },
  inputs: readonly TextInput[],
): Promise<Embeddings> {
  const tokenized = await model.tokenize(inputs);
  const vectors = finishVectors(await model.embedTokenized(tokenized), model.info.normalize);
  return { vectors, tokenCounts: tokenized.map((t) => t.ids.length) };
}
