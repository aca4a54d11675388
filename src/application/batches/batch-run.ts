import { countBatch, isFinalBatch, type Batch } from '../../domain/index.js';
import type { BatchChunk, BatchStore, ChunkOutcome, ChunkTask, OutcomeCounts, PlannedLine } from '../../ports/batch-store.js';
import type { Clock } from '../../ports/clock.js';
import type { FileStore } from '../../ports/file-store.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { Tracing } from '../../ports/tracing.js';
import type { Abandonment, BatchChunks } from './batch-chunks.js';
import type { BatchLifecycle } from './batch-lifecycle.js';
import { LineReader } from './line-reader.js';

export interface BatchRunOptions {
  /** Tasks' worth of chunks a batch has queued or running at once. */
  readonly inFlightChunks: number;
  /** Longest wait between two reads of a batch's outstanding tasks (finishes are announced, but best-effort). */
  readonly pollMs: number;
  /** How long a cancelled or expired batch waits for the lines already running before it gives them up. */
  readonly windDownMs: number;
  /** A span per run, in the trace of the request that created the batch: its lines' tasks are its children. */
  readonly tracing?: Tracing;
}

/**
 * One batch's run, by the process that holds its lease: plans its input into
 * chunks, queues their tasks on the bulk lane a few chunks at a time,
 * records what each chunk came to, and ends the batch when every line is
 * answered; a cancelled or expired batch winds down.
 *
 * Everything it needs to go on is in the store: the chunks planned (so a
 * restart resumes after the last, and never plans a line twice) and each
 * chunk's outcome (recorded once, so no line is counted or written twice).
 * A chunk's tasks are queued again on resume; a task runs once however
 * often it is queued.
 */
export class BatchRun {
  constructor(
    private readonly batches: BatchStore,
    private readonly files: FileStore,
    private readonly chunks: BatchChunks,
    private readonly tasks: TaskStore,
    private readonly events: TaskEvents,
    private readonly lifecycle: BatchLifecycle,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
    private readonly options: BatchRunOptions,
  ) {}

  /** Runs the batch until it ends or `signal` aborts (the lease was lost, or the process stops). */
  async run(id: string, signal: AbortSignal, log: Logger): Promise<void> {
    const batch = await this.batches.get(id);
    if (!batch || isFinalBatch(batch)) return;
    const tracing = this.options.tracing;
    if (!tracing) return this.runFrom(batch, signal, log);
    const attributes = { 'embedding_service.batch_id': batch.id, 'embedding_service.batch_endpoint': batch.endpoint };
    await tracing.inSpan('run batch', { parent: batch.trace ?? 'root', attributes }, () => this.runFrom(batch, signal, log));
  }

  private async runFrom(loaded: Batch, signal: AbortSignal, log: Logger): Promise<void> {
    const id = loaded.id;
    let batch = loaded;
    if (batch.status === 'validating') batch = await this.lifecycle.validate(batch);
    if (isFinalBatch(batch)) return;
    if (batch.status === 'cancelling' && batch.inProgressAt === undefined) {
      await this.lifecycle.end(batch, 'cancelled');
      return;
    }
    const content = await this.files.read(batch.inputFileId);
    if (!content) {
      await this.lifecycle.fail(batch, [{ code: 'file_not_found', message: `The input file ${batch.inputFileId} was deleted while the batch ran.`, param: 'input_file_id' }]);
      return;
    }
    const planned = await this.batches.chunks(id);
    const done = await this.batches.outcomeCounts(id);
    batch = await this.recount(id, done);
    const seen = new Set(planned.flatMap((c) => c.tasks.flatMap((t) => t.lines.map((l) => l.customId))));
    const outstanding = planned.filter((c) => !done.has(c.index));
    let next = (planned.at(-1)?.index ?? -1) + 1;
    const reader = new LineReader(content, planned.at(-1)?.endLine ?? 1);
    if (outstanding.length > 0) log.info('resuming a batch', { chunks: planned.length, outstanding: outstanding.length });
    try {
      for (const chunk of outstanding) await this.chunks.dispatch(chunk);
      let abandon: Abandonment | undefined;
      let windingDownSince = 0;
      for (;;) {
        if (signal.aborted) return;
        batch = (await this.batches.get(id))!;
        if (!abandon) {
          abandon = batch.status === 'cancelling' ? 'batch_cancelled' : this.clock.now() > batch.expiresAt ? 'batch_expired' : undefined;
          if (abandon) {
            log.info('winding a batch down', { reason: abandon });
            windingDownSince = this.clock.now().getTime();
            await this.giveUpTasks(outstanding, 'queued', abandon);
          }
        } else if (this.clock.now().getTime() - windingDownSince > this.options.windDownMs) {
          await this.giveUpTasks(outstanding, 'all', abandon);
        }
        await this.settle(batch, outstanding, abandon);
        // Winding down, the lines not yet planned never run: each chunk of them is answered as it is planned.
        while ((abandon || outstanding.length < this.options.inFlightChunks) && !signal.aborted) {
          const chunk = await this.chunks.plan(batch, next, reader, seen, abandon);
          if (!chunk) break;
          await this.batches.saveChunk(id, chunk);
          next++;
          if (abandon) {
            await this.record(id, chunk, this.chunks.unrun(chunk));
          } else {
            await this.chunks.dispatch(chunk);
            outstanding.push(chunk);
          }
        }
        if (outstanding.length === 0) {
          await this.lifecycle.end(batch, abandon === 'batch_cancelled' ? 'cancelled' : abandon === 'batch_expired' ? 'expired' : 'completed');
          return;
        }
        await this.waitForAny(outstanding, signal);
      }
    } finally {
      await reader.close().catch(() => undefined);
    }
  }

  /** Records the outcome of every outstanding chunk that is done, and runs again the tasks that must be. */
  private async settle(batch: Batch, outstanding: BatchChunk[], abandon: Abandonment | undefined): Promise<void> {
    for (const chunk of [...outstanding]) {
      const result = await this.chunks.settle(batch, chunk, abandon);
      if (result === 'pending') continue;
      if ('rerun' in result) {
        outstanding[outstanding.indexOf(chunk)] = await this.rerun(batch, chunk, result.rerun);
        continue;
      }
      await this.record(batch.id, chunk, result);
      outstanding.splice(outstanding.indexOf(chunk), 1);
    }
  }

  private async record(id: string, chunk: BatchChunk, outcome: ChunkOutcome): Promise<void> {
    if (!(await this.batches.saveOutcome(id, chunk.index, outcome))) return;
    // Its answers are written: the documents it kept for them need not stay in the store, nor be read back on a resume.
    const answered = withoutDocuments(chunk);
    if (answered !== chunk) await this.batches.saveChunk(id, answered);
    await this.batches.update(id, (b) =>
      countBatch(b, {
        completed: b.requestCounts.completed + outcome.completed,
        failed: b.requestCounts.failed + outcome.failed,
        usageTokens: b.usageTokens + outcome.tokens,
      }),
    );
    if (outcome.completed > 0) this.metrics.batchLines('completed', outcome.completed);
    if (outcome.failed > 0) this.metrics.batchLines('failed', outcome.failed);
  }

  /** The counts, from the outcomes recorded: a crash between an outcome and its count loses nothing. */
  private async recount(id: string, outcomes: ReadonlyMap<number, OutcomeCounts>): Promise<Batch> {
    const counts = [...outcomes.values()];
    const sum = (pick: (c: OutcomeCounts) => number) => counts.reduce((n, c) => n + pick(c), 0);
    const batch = await this.batches.update(id, (b) => countBatch(b, { completed: sum((c) => c.completed), failed: sum((c) => c.failed), usageTokens: sum((c) => c.tokens) }));
    return batch!;
  }

  /** A chunk with `tasks` run again, a line to a task, read again from the input file. */
  private async rerun(batch: Batch, chunk: BatchChunk, tasks: readonly ChunkTask[]): Promise<BatchChunk> {
    const wanted = new Set(tasks.flatMap((t) => t.lines.map((l) => l.line)));
    const texts = new Map<number, string>();
    const content = await this.files.read(batch.inputFileId);
    if (content) {
      const reader = new LineReader(content, chunk.firstLine);
      try {
        for (let line = await reader.next(); line && line.number < chunk.endLine; line = await reader.next()) {
          if (wanted.has(line.number)) texts.set(line.number, line.text);
        }
      } finally {
        await reader.close();
      }
    }
    const replaced = new Set(tasks.map((t) => t.taskId));
    const split = await Promise.all(tasks.map((t) => this.chunks.singleLineTasks(batch, t, texts)));
    const next: BatchChunk = {
      ...chunk,
      tasks: [...chunk.tasks.filter((t) => !replaced.has(t.taskId)), ...split.flatMap((s) => s.tasks)],
      refused: [...chunk.refused, ...split.flatMap((s) => s.refused)],
    };
    await this.batches.saveChunk(batch.id, next);
    await this.chunks.dispatch(next);
    return next;
  }

  /** Tasks not to run after all: those still queued, or (past the wind-down) every unfinished one. */
  private async giveUpTasks(outstanding: readonly BatchChunk[], which: 'queued' | 'all', reason: Abandonment): Promise<void> {
    const why = reason === 'batch_cancelled' ? 'Its batch was cancelled.' : 'Its batch expired.';
    for (const task of outstanding.flatMap((c) => c.tasks)) {
      const record = await this.tasks.get(task.taskId);
      if (record?.status === 'queued' || (which === 'all' && record?.status === 'running')) {
        await this.tasks.markCancelled(task.taskId, why, this.clock.now());
      }
    }
  }

  /** Until one outstanding task is announced finished, the poll interval passes, or the run is stopped. */
  private async waitForAny(outstanding: readonly BatchChunk[], signal: AbortSignal): Promise<void> {
    const watches = outstanding.flatMap((c) => c.tasks).map((t) => this.events.watch(t.taskId));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wake = () => undefined as void;
    try {
      await Promise.race([
        ...watches.map((w) => w.finished),
        new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, this.options.pollMs);
          signal.addEventListener('abort', wake, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      for (const watch of watches) watch.cancel();
    }
  }
}

/** The chunk without the documents its rerank lines kept for their answers; the chunk itself when it kept none. */
function withoutDocuments(chunk: BatchChunk): BatchChunk {
  const keeps = (line: PlannedLine) => 'rerank' in line && line.rerank.documents !== undefined;
  if (!chunk.tasks.some((t) => t.lines.some(keeps))) return chunk;
  const strip = (line: PlannedLine): PlannedLine => {
    if (!('rerank' in line)) return line;
    const { documents, ...rerank } = line.rerank;
    return { ...line, rerank };
  };
  return { ...chunk, tasks: chunk.tasks.map((t) => ({ ...t, lines: t.lines.map(strip) })) };
}
