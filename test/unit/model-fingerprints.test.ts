import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileModelFingerprints } from '../../src/adapters/filesystem/model-fingerprints.js';
import { writeBertFolder } from '../support/bert-fixture.js';

describe('FileModelFingerprints', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fingerprints-'));
    await writeBertFolder(join(work, 'a'), { nested: true });
  });

  it('gives the same files the same fingerprint wherever they are, and files it cannot read none', async () => {
    await cp(join(work, 'a'), join(work, 'copy'), { recursive: true });
    const fingerprints = new FileModelFingerprints(
      new Map([
        ['a', { dir: join(work, 'a') }],
        ['copy', { dir: join(work, 'copy') }],
        ['gone', { dir: join(work, 'nothing-here') }],
      ]),
    );
    const a = await fingerprints.of('a');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprints.of('copy')).toBe(a);
    expect(await fingerprints.of('gone')).toBeUndefined();
    expect(await fingerprints.of('not configured')).toBeUndefined();
  });

  it('sees new weights in the same place, without a restart', async () => {
    const dir = join(work, 'changing');
    await writeBertFolder(dir, { nested: true, seed: 1 });
    const fingerprints = new FileModelFingerprints(new Map([['m', { dir }]]), 0);
    const before = await fingerprints.of('m');
    await writeBertFolder(dir, { nested: true, seed: 2 });
    const after = await fingerprints.of('m');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    // The tokenizer and pooling settings are part of the model too.
    await writeFile(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_cls_token: true }));
    expect(await fingerprints.of('m')).not.toBe(after);
  });

  it('tells apart the graphs of one folder: an int8 copy beside the fp32 graph is another model, and changes not the fp32 one', async () => {
    const dir = join(work, 'two-graphs');
    await writeBertFolder(dir, { nested: true });
    const fingerprints = new FileModelFingerprints(
      new Map([
        ['fp32', { dir }],
        ['int8', { dir, graph: 'onnx/model_quantized.onnx' }],
      ]),
      0,
    );
    const fp32 = await fingerprints.of('fp32');
    await writeFile(join(dir, 'onnx', 'model_quantized.onnx'), 'another graph');
    expect(await fingerprints.of('fp32')).toBe(fp32);
    const int8 = await fingerprints.of('int8');
    expect(int8).toBeDefined();
    expect(int8).not.toBe(fp32);
  });
});
