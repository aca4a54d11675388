import {
  batchFileId,
  endBatch,
  failBatch,
  finalizeBatch,
  startBatch,
  type Batch,
  type BatchEnding,
  type BatchError,
} from '../../domain/index.js';
import type { BatchEvents } from '../../ports/batch-events.js';
import type { BatchStore, ChunkOutcome } from '../../ports/batch-store.js';
import type { Clock } from '../../ports/clock.js';
import type { FileStore } from '../../ports/file-store.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';

/**
 * A batch's first and last steps: its input file checked (validating →
 * in_progress, or failed with why), and its end, with the output and error
 * files written from the recorded outcomes. Each end is counted, logged and
 * announced to the batch's webhook.
 */
export class BatchLifecycle {
  constructor(
    private readonly batches: BatchStore,
    private readonly files: FileStore,
    private readonly notifier: BatchEvents,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    /** How long output and error files are kept. */
    private readonly outputTtlMs: number,
  ) {}

  /** validating → in_progress once the input file is known good; failed (with why) when it is not. */
  async validate(batch: Batch): Promise<Batch> {
    const file = await this.files.get(batch.inputFileId);
    const problem: BatchError | undefined = !file
      ? { code: 'file_not_found', message: `The input file ${batch.inputFileId} does not exist or has expired.`, param: 'input_file_id' }
      : file.purpose !== 'batch'
        ? { code: 'invalid_file', message: `The input file's purpose is '${file.purpose}', not 'batch'.`, param: 'input_file_id' }
        : file.lines === 0
          ? { code: 'empty_file', message: 'The input file has no lines.', param: 'input_file_id' }
          : undefined;
    if (problem) return this.fail(batch, [problem]);
    return (await this.batches.update(batch.id, (b) => startBatch(b, file!.lines, this.clock.now())))!;
  }

  async fail(batch: Batch, errors: readonly BatchError[]): Promise<Batch> {
    const failed = (await this.batches.update(batch.id, (b) => failBatch(b, errors, this.clock.now())))!;
    this.logger.warn('batch failed', { batchId: batch.id, errors });
    this.metrics.batchEnded('failed');
    this.notifier.notify('batch.failed', failed);
    await this.batches.dropWork(batch.id);
    return failed;
  }

  /** Writes the output and error files from the recorded outcomes, then ends the batch with them. */
  async end(batch: Batch, ending: BatchEnding): Promise<void> {
    // Read again, with the counts of the outcomes recorded since `batch` was read.
    const current = (await this.batches.update(batch.id, (b) => (ending === 'completed' ? finalizeBatch(b, this.clock.now()) : b)))!;
    const outputFileId = current.requestCounts.completed > 0 ? await this.writeFile(current, 'output', (o) => o.output) : undefined;
    const errorFileId = current.requestCounts.failed > 0 ? await this.writeFile(current, 'error', (o) => o.errors) : undefined;
    const ended = (await this.batches.update(batch.id, (b) =>
      endBatch(b, ending, { ...(outputFileId && { outputFileId }), ...(errorFileId && { errorFileId }) }, this.clock.now()),
    ))!;
    await this.batches.dropWork(batch.id);
    this.logger.info('batch ended', { batchId: batch.id, status: ended.status, ...ended.requestCounts });
    this.metrics.batchEnded(ending);
    this.notifier.notify(`batch.${ending}`, ended);
  }

  /**
   * One of a batch's files, written from the outcomes in chunk order. Its id
   * follows from the batch's, so that ending the batch again after a crash
   * writes the same file again rather than a second one.
   */
  private async writeFile(batch: Batch, kind: 'output' | 'error', part: (outcome: ChunkOutcome) => string): Promise<string> {
    const id = batchFileId(batch.id, kind);
    await this.files.remove(id);
    const outcomes = this.batches.outcomes(batch.id);
    const encoder = new TextEncoder();
    const content = (async function* () {
      for await (const outcome of outcomes) {
        const text = part(outcome);
        if (text) yield encoder.encode(text);
      }
    })();
    const now = this.clock.now();
    const file = await this.files.save(id, content, async () => ({
      filename: `${batch.id}_${kind}.jsonl`,
      purpose: 'batch_output',
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.outputTtlMs),
      ...(batch.owner !== undefined && { owner: batch.owner }),
    }));
    this.metrics.fileStored('batch_output', file.bytes);
    return id;
  }
}
