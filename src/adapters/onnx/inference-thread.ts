import type { Pooling } from '../../domain/index.js';
import { ThreadClient } from '../shared/thread-client.js';

export interface SessionSettings {
  readonly modelFile: string;
  readonly pooling: Pooling;
  readonly intraOpThreads: number;
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
          // Pool threads spin while a run lasts (waking them between the graph's many small
          // operators is what makes a lone batch-1 inference slow without it) and stop spinning
          // when it ends, so that between batches the cores go to the event loop. Measured on 2
          // cores, L6: batch 1 in 1.86 ms against 2.27 ms without spinning, batch 32 in 27.1 ms
          // against 29.6 ms, and 0.2 ms of CPU in the 50 ms after a run, against 31.6 ms when the
          // threads go on spinning (the default, which cost a third of the throughput under load).
          extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } },
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

  close(): Promise<void> {
    return this.thread.close();
  }
}
