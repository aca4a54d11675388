import type { Logger } from '../../ports/logger.js';
import type { WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';

/** How many heartbeat intervals a beat lives: one missed beat is not taken for death. */
export const BEAT_LIFETIME_INTERVALS = 3;

/**
 * Keeps a worker's heartbeat fresh while it runs: one beat at start, then
 * one every `intervalSeconds`, each living `BEAT_LIFETIME_INTERVALS` of them.
 * Each beat carries what the worker has done and its pace (from which the
 * API estimates how long a new task would wait) and its memory. Leaves the
 * registry on stop.
 */
export class WorkerPresence {
  private timer: ReturnType<typeof setInterval> | undefined;
  private models: readonly string[] | undefined;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly identity: Pick<WorkerBeat, 'workerId' | 'host' | 'pid' | 'startedAt'>,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
    /** What the worker reports of its work and resources with each beat. */
    private readonly status: () => Pick<WorkerBeat, 'throughput' | 'activity' | 'rssBytes' | 'reportedAt'> = () => ({}),
  ) {}

  /** Reports in as serving `models`, and keeps doing so until `stop`. */
  async start(models: readonly string[]): Promise<void> {
    this.models = models;
    await this.send();
    this.timer = setInterval(() => void this.send(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.models) await this.registry.remove(this.identity.workerId).catch(() => undefined);
  }

  private async send(): Promise<void> {
    if (!this.models) return;
    try {
      await this.registry.heartbeat({ ...this.identity, models: this.models, ...this.status() }, this.intervalSeconds * BEAT_LIFETIME_INTERVALS);
    } catch (error) {
      this.logger.warn('heartbeat failed', { err: error, workerId: this.identity.workerId });
    }
  }
}
