/** What one stretch of work came to: tasks settled, and the time spent holding at least one. */
interface Sample {
  readonly settled: number;
  readonly busyMs: number;
}

/**
 * How fast a worker gets through one model's tasks while it has some: tasks
 * settled per second of the time it held at least one. Idle time does not
 * count, so a worker that waited for work is not taken for a slow one; and
 * the last figure is kept through idle spells, so that a burst after a quiet
 * hour meets a known rate. The rate covers the last `samples` readings.
 *
 * `taken` and `settled` bracket each task the worker handles; `rate` is read
 * once per heartbeat and closes the reading in progress.
 */
export class DrainMeter {
  private held = 0;
  private busySince = 0;
  private current = { settled: 0, busyMs: 0 };
  private readonly history: Sample[] = [];

  constructor(private readonly samples = 6) {}

  /** Tasks the worker holds now (taken, not yet settled). */
  get holding(): number {
    return this.held;
  }

  taken(nowMs: number): void {
    if (this.held++ === 0) this.busySince = nowMs;
  }

  settled(nowMs: number): void {
    this.current.settled++;
    if (--this.held === 0) this.current.busyMs += nowMs - this.busySince;
  }

  /** Tasks a second (0 while nothing has settled), or undefined before the worker ever had work. */
  rate(nowMs: number): number | undefined {
    if (this.held > 0) {
      this.current.busyMs += nowMs - this.busySince;
      this.busySince = nowMs;
    }
    // A reading in which a long batch settled nothing still counts its time, or the batch's tasks would look quick when it ends.
    if (this.current.busyMs > 0) {
      this.history.push(this.current);
      if (this.history.length > this.samples) this.history.shift();
    }
    this.current = { settled: 0, busyMs: 0 };
    const settled = this.history.reduce((sum, s) => sum + s.settled, 0);
    const busyMs = this.history.reduce((sum, s) => sum + s.busyMs, 0);
    return busyMs > 0 ? (settled * 1000) / busyMs : undefined;
  }
}
