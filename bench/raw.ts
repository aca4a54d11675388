import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from 'tokenizers';
import { readSentenceTransformersFolder } from '../src/adapters/onnx/sentence-transformers-folder.js';

/**
 * The ceiling: onnxruntime-node in this process, with the service's session
 * options, tokenizing and running batches back to back. No queue, no HTTP,
 * no pooling: what the hardware gives.
 */
/** An onnxruntime session with the service's options, every core its own: what a ceiling is measured with. */
export function ceilingSession(modelFile: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelFile, {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: availableParallelism(),
    interOpNumThreads: 1,
  });
}

/** `onnxFile`: another graph of the folder (its int8 copy), as a model entry's `onnx_file` names it. */
export async function rawThroughput(dir: string, texts: readonly string[], batchSize: number, seconds: number, onnxFile?: string) {
  const folder = await readSentenceTransformersFolder(dir, onnxFile);
  const tokenizer = Tokenizer.fromFile(folder.tokenizerFile);
  tokenizer.setTruncation(folder.maxSeqLength);
  tokenizer.setPadding({ padToken: '[PAD]', padId: 0 });
  const session = await ceilingSession(folder.modelFile);
  const runBatch = async (offset: number) => {
    const batch = Array.from({ length: batchSize }, (_, i) => texts[(offset + i) % texts.length]!);
    const encodings = await tokenizer.encodeBatch(batch);
    const seq = encodings[0]!.getIds().length;
    const tensor = (pick: (e: (typeof encodings)[number]) => number[]) =>
      new ort.Tensor('int64', BigInt64Array.from(encodings.flatMap(pick), BigInt), [batchSize, seq]);
    const feeds = {
      input_ids: tensor((e) => e.getIds()),
      attention_mask: tensor((e) => e.getAttentionMask()),
      token_type_ids: tensor((e) => e.getTypeIds()),
    };
    await session.run(feeds);
  };
  await runBatch(0);
  let done = 0;
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    const t = performance.now();
    await runBatch(done);
    latencies.push(performance.now() - t);
    done += batchSize;
  }
  const elapsed = (performance.now() - started) / 1000;
  // The whole process: onnxruntime's pool threads included.
  const cpu = process.cpuUsage(cpuBefore);
  await session.release();
  latencies.sort((a, b) => a - b);
  return { perSecond: done / elapsed, batchMs: latencies[Math.floor(latencies.length / 2)]!, cpuMsPerText: (cpu.user + cpu.system) / 1000 / done };
}
