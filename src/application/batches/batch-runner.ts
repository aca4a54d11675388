import type { BatchEvents } from '../../ports/batch-events.js';
import type { BatchStore } from '../../ports/batch-store.js';
import type { Clock } from '../../ports/clock.js';
import type { FileStore } from '../../ports/file-store.js';
import type { Logger } from '../../ports/logger.js';
import type { Metrics } from '../../ports/metrics.js';
import type { TaskEvents } from '../../ports/task-events.js';
import type { TaskStore } from '../../ports/task-store.js';
import type { BatchChunks } from './batch-chunks.js';
import { BatchLifecycle } from './batch-lifecycle.js';
import { BatchRun, type BatchRunOptions } from './batch-run.js';

export interface BatchRunnerOptions extends BatchRunOptions {
  /** This process, among those that share the store: who holds a batch's lease. */
  readonly holder: string;
  /** A batch whose holder stops renewing is taken over after this long. */
  readonly leaseMs: number;
  /** How often unfinished batches (new ones, or a dead holder's) are looked for. */
  readonly scanMs: number;
  /** Batches this process runs at once. */
  readonly maxBatches: number;
  /** How long output and error files are kept. */
  readonly outputTtlMs: number;
}

/**
 * Runs batches: takes each unfinished one under a lease, so that one process
 * runs it at a time and another takes over when that one dies, and runs it
 * (`BatchRun`) while renewing the lease. Every API process runs one.
 */
export class BatchRunner {
  private readonly running = new Map<string, AbortController>();
  private readonly drives = new Set<Promise<void>>();
  private readonly batchRun: BatchRun;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private scanning = false;
  private stopped = true;

  constructor(
    private readonly batches: BatchStore,
    files: FileStore,
    chunks: BatchChunks,
    tasks: TaskStore,
    events: TaskEvents,
    notifier: BatchEvents,
    clock: Clock,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly options: BatchRunnerOptions,
  ) {
    const lifecycle = new BatchLifecycle(batches, files, notifier, clock, metrics, logger, options.outputTtlMs);
    this.batchRun = new BatchRun(batches, files, chunks, tasks, events, lifecycle, clock, metrics, options);
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Looks for batches to run now (a batch was just created). */
  wake(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.scan(), 0);
  }

  /** Stops taking batches, stops those it runs (where they are: another process, or this one restarted, goes on) and gives up their leases. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const controller of this.running.values()) controller.abort();
    await Promise.allSettled([...this.drives]);
  }

  private async scan(): Promise<void> {
    if (this.scanning || this.stopped) return;
    this.scanning = true;
    try {
      for (const id of await this.batches.unfinished()) {
        if (this.running.size >= this.options.maxBatches || this.stopped) break;
        if (this.running.has(id) || !(await this.batches.lease(id, this.options.holder, this.options.leaseMs))) continue;
        this.take(id);
      }
    } catch (error) {
      this.logger.warn('could not look for batches to run', { err: error });
    } finally {
      this.scanning = false;
      if (!this.stopped) this.timer = setTimeout(() => void this.scan(), this.options.scanMs);
    }
  }

  private take(id: string): void {
    const controller = new AbortController();
    this.running.set(id, controller);
    this.metrics.batchRunning(1);
    const log = this.logger.child({ batchId: id });
    const renewal = setInterval(() => {
      this.batches.lease(id, this.options.holder, this.options.leaseMs).then(
        (held) => {
          if (!held) {
            log.warn('lost the lease of a batch; leaving it to its new holder');
            controller.abort();
          }
        },
        () => undefined,
      );
    }, this.options.leaseMs / 3);
    const drive = this.batchRun.run(id, controller.signal, log)
      .catch((error: unknown) => log.warn('batch run interrupted; it resumes on the next scan', { err: error }))
      .finally(async () => {
        clearInterval(renewal);
        this.running.delete(id);
        this.metrics.batchRunning(-1);
        await this.batches.release(id, this.options.holder).catch(() => undefined);
      });
    this.drives.add(drive);
    void drive.finally(() => this.drives.delete(drive));
  }
}
