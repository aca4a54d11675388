import type { Logger } from '../ports/logger.js';
import type { WorkerBeat, WorkerRegistry } from '../ports/worker-registry.js';

/**
 * Keeps a worker's heartbeat fresh while it runs: one beat at start, then one
 * every `intervalSeconds`, each living three intervals, so one missed beat is
 * not taken for death. Leaves the registry on stop.
 */
export class WorkerPresence {
  private timer: ReturnType<typeof setInterval> | undefined;
  private beat: WorkerBeat | undefined;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly identity: Omit<WorkerBeat, 'models'>,
    private readonly intervalSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Reports in as serving `models`, and keeps doing so until `stop`. */
  async start(models: readonly string[]): Promise<void> {
    this.beat = { ...this.identity, models };
    await this.send();
    this.timer = setInterval(() => void this.send(), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    if (this.beat) await this.registry.remove(this.identity.workerId).catch(() => undefined);
  }

  private async send(): Promise<void> {
    if (!this.beat) return;
    try {
      await this.registry.heartbeat(this.beat, this.intervalSeconds * 3);
    } catch (error) {
      this.logger.warn('heartbeat failed', { err: error, workerId: this.identity.workerId });
    }
  }
}
