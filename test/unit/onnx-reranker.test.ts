import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { OnnxReranker } from '../../src/adapters/onnx/onnx-reranker.js';
import { writeCrossEncoderFolder } from '../support/bert-fixture.js';
import { rerankerModelContract } from '../contracts/reranker-model.contract.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

rerankerModelContract('onnx (generated BERT cross-encoder, 32 tokens)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reranker-'));
  dirs.push(dir);
  return OnnxReranker.load({ id: 'cross-encoder', path: await writeCrossEncoderFolder(join(dir, 'model'), { maxLength: 32, nested: true }), intraOpThreads: 1 });
});
