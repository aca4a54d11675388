import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import {
  isSentenceTransformersFolder,
  readSentenceTransformersFolder,
} from '../../src/adapters/onnx/sentence-transformers-folder.js';
import { embeddingModelContract } from '../contracts/embedding-model.contract.js';
import { writeBertFolder } from '../support/bert-fixture.js';

const dirs: string[] = [];
async function bertFolder(options: Parameters<typeof writeBertFolder>[1] = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bert-'));
  dirs.push(dir);
  return writeBertFolder(dir, options);
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

embeddingModelContract('onnx (generated BERT, mean pooling)', async () =>
  OnnxEmbeddingModel.load({ id: 'tiny-bert', path: await bertFolder({ maxSeqLength: 16 }) }),
);

describe('OnnxEmbeddingModel', () => {
  it('tokenises with the all-MiniLM vocabulary: "Hello world" is [CLS] hello world [SEP]', async () => {
    const model = await OnnxEmbeddingModel.load({ id: 'm', path: await bertFolder() });
    try {
      const [tokens] = await model.tokenize(['Hello world']);
      expect(tokens!.ids).toEqual([101, 7592, 2088, 102]);
      expect(tokens!.typeIds).toEqual([0, 0, 0, 0]);
    } finally {
      await model.close();
    }
  });

  it('reads pooling, normalisation and length from the folder', async () => {
    const dir = await bertFolder({ pooling: 'cls', normalize: false, maxSeqLength: 32, nested: true });
    expect(await isSentenceTransformersFolder(dir)).toBe(true);
    const folder = await readSentenceTransformersFolder(dir);
    expect(folder).toMatchObject({ hiddenSize: 32, maxSeqLength: 32, pooling: 'cls', normalize: false });
    expect(folder.modelFile).toBe(join(dir, 'onnx', 'model.onnx'));

    const model = await OnnxEmbeddingModel.load({ id: 'cls', path: dir });
    try {
      expect(model.info).toMatchObject({ dimensions: 32, maxTokens: 32, pooling: 'cls', normalize: false });
      const { vectors } = await model.embed(['not normalised']);
      const norm = Math.hypot(...vectors[0]!);
      expect(norm).not.toBeCloseTo(1, 2);
    } finally {
      await model.close();
    }
  });

  it('pools differently by mode, and each mode ignores padding', async () => {
    const path = await bertFolder();
    const [mean, max, cls] = await Promise.all(
      (['mean', 'max', 'cls'] as const).map((pooling) => OnnxEmbeddingModel.load({ id: pooling, path, pooling })),
    );
    try {
      const text = 'pooling modes differ';
      const padded = ['a considerably longer companion sentence that forces padding', text];
      const vectors = [];
      for (const model of [mean!, max!, cls!]) {
        const alone = (await model.embed([text])).vectors[0]!;
        const inBatch = (await model.embed(padded)).vectors[1]!;
        expect(Array.from(inBatch)).toEqual(Array.from(alone).map((x) => expect.closeTo(x, 5)));
        vectors.push(Array.from(alone));
      }
      expect(vectors[0]).not.toEqual(vectors[1]);
      expect(vectors[0]).not.toEqual(vectors[2]);
    } finally {
      await Promise.all([mean, max, cls].map((m) => m!.close()));
    }
  });

  it('answers the same vectors with spinning threads as with sleeping ones', async () => {
    const path = await bertFolder();
    const [sleeping, spinning] = await Promise.all([
      OnnxEmbeddingModel.load({ id: 'sleeping', path, intraOpThreads: 2, spinning: false }),
      OnnxEmbeddingModel.load({ id: 'spinning', path, intraOpThreads: 2, spinning: true }),
    ]);
    try {
      const texts = ['a short one', 'and a somewhat longer text, padded beside the short one'];
      const [a, b] = await Promise.all([sleeping.embed(texts), spinning.embed(texts)]);
      expect(b.tokenCounts).toEqual(a.tokenCounts);
      a.vectors.forEach((vector, i) => vector.forEach((x, d) => expect(b.vectors[i]![d]).toBeCloseTo(x, 6)));
    } finally {
      await Promise.all([sleeping.close(), spinning.close()]);
    }
  });

  it('caps a configured maximum at what the folder allows', async () => {
    const model = await OnnxEmbeddingModel.load({ id: 'cap', path: await bertFolder({ maxSeqLength: 24 }), maxTokens: 1000 });
    try {
      expect(model.info.maxTokens).toBe(24);
    } finally {
      await model.close();
    }
  });

  it('refuses a folder without a model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'empty-'));
    dirs.push(dir);
    expect(await isSentenceTransformersFolder(dir)).toBe(false);
    await expect(OnnxEmbeddingModel.load({ id: 'x', path: dir })).rejects.toThrow(/model\.onnx/);
  });
});
