import type { Pooling, TokenizedText } from '../../domain/index.js';
import { ThreadClient } from '../shared/thread-client.js';
import { inferRows } from '../shared/vectors.js';

export interface SessionSettings {
  readonly modelFile: string;
  readonly pooling: Pooling;
  readonly intraOpThreads: number;
  readonly spinning: boolean;
}

export interface PaddedBatch {
  readonly batch: number;
  readonly seq: number;
  readonly ids: BigInt64Array<ArrayBuffer>;
  readonly mask: BigInt64Array<ArrayBuffer>;
  readonly types: BigInt64Array<ArrayBuffer>;
}

/**
 * An ONNX session on its own thread (see inference-thread.mjs): the session
 * runs one batch at a time, and the event loop stays free meanwhile.
 */
export class InferenceThread {
  private constructor(private readonly thread: ThreadClient) {}

  static async start(settings: SessionSettings): Promise<InferenceThread> {
    const thread = new ThreadClient(new URL('./inference-thread.mjs', import.meta.url), 'inference');
    try {
      await thread.request({
        type: 'load',
        modelFile: settings.modelFile,
        pooling: settings.pooling,
        options: {
          graphOptimizationLevel: 'all',
          executionMode: 'sequential',
          intraOpNumThreads: settings.intraOpThreads,
          interOpNumThreads: 1,
          // Memory patterns are planned per input shape, and batches here come in many shapes:
          // off, L6 held 13 MB less after warm-up and ran batch 32 and batch 1 as fast.
          enableMemPattern: false,
          // By default idle pool threads sleep instead of spinning: the cores are shared with the
          // event loop, and with RabbitMQ, Redis and the API where they run on the same machine.
          // Spinning makes a lone request faster and 64 clients slower, in one process as well as
          // beside a broker (BENCHMARKS.md, "Spinning"); operators who serve few clients choose it.
          extra: { session: { intra_op: { allow_spinning: settings.spinning ? '1' : '0' } } },
        },
      });
    } catch (error) {
      await thread.close();
      throw error;
    }
    return new InferenceThread(thread);
  }

  /** Pooled vectors, one per row of the batch, concatenated. */
  run(batch: PaddedBatch): Promise<{ vectors: Float32Array; dim: number }> {
    return this.thread.request({ type: 'run', ...batch }, [batch.ids.buffer, batch.mask.buffer, batch.types.buffer]);
  }

  /**
   * One row per text of the batch, in order: its pooled vector, or a
   * classifier's logits. A failure names `model`.
   */
  rows(model: { readonly id: string }, batch: readonly TokenizedText[]): Promise<Float32Array[]> {
    return inferRows(model, batch.length, async () => {
      const { vectors, dim } = await this.run(padBatch(batch));
      return { vectors, dimensions: dim };
    });
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}

/** Right-pads every text to the batch's longest, with attention mask 0 on the padding. */
export function padBatch(batch: readonly TokenizedText[]): PaddedBatch {
  const seq = Math.max(...batch.map((t) => t.ids.length));
  const ids = new BigInt64Array(batch.length * seq);
  const mask = new BigInt64Array(batch.length * seq);
  const types = new BigInt64Array(batch.length * seq);
  batch.forEach((text, b) => {
    const row = b * seq;
    for (let t = 0; t < text.ids.length; t++) {
      ids[row + t] = BigInt(text.ids[t]!);
      mask[row + t] = 1n;
      types[row + t] = BigInt(text.typeIds?.[t] ?? 0);
    }
  });
  return { batch: batch.length, seq, ids, mask, types };
}
