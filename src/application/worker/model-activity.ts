import type { TaskOutcome } from '../../ports/metrics.js';
import type { ModelActivity } from '../../ports/worker-registry.js';
import { DrainMeter } from './drain-meter.js';

/** Samples kept for the percentiles: recent enough to follow the load, enough to be steady. */
const SAMPLES = 256;

/** A fixed-size window of the latest values. */
class Window {
  private readonly values: number[] = [];

  add(value: number): void {
    this.values.push(value);
    if (this.values.length > SAMPLES) this.values.shift();
  }

  quantile(q: number): number | undefined {
    if (this.values.length === 0) return undefined;
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }

  mean(): number | undefined {
    return this.values.length === 0 ? undefined : this.values.reduce((sum, v) => sum + v, 0) / this.values.length;
  }
}

/**
 * What one worker has done with one model, for its heartbeat: how many tasks
 * it finished and failed since it started, how many it holds now, how long
 * the latest waited in the queue and took to infer, how large its batches
 * were, and its pace (the drain meter's). Operators read it in the console;
 * the API's admission reads the pace.
 */
export class ModelActivityRecorder {
  private done = 0;
  private failed = 0;
  private readonly waits = new Window();
  private readonly inferences = new Window();
  private readonly batches = new Window();
  readonly pace = new DrainMeter();

  taken(nowMs: number): void {
    this.pace.taken(nowMs);
  }

  settled(nowMs: number): void {
    this.pace.settled(nowMs);
  }

  finished(outcome: TaskOutcome): void {
    if (outcome === 'succeeded') this.done++;
    else if (outcome === 'failed') this.failed++;
  }

  waited(seconds: number): void {
    this.waits.add(seconds * 1000);
  }

  inferred(batchSize: number, seconds: number): void {
    this.batches.add(batchSize);
    this.inferences.add(seconds * 1000);
  }

  /** The figures as they stand; reading closes the pace's current reading (once per heartbeat). */
  report(nowMs: number): { activity: ModelActivity; tasksPerSecond: number | undefined } {
    const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 10) / 10);
    const activity: ModelActivity = {
      done: this.done,
      failed: this.failed,
      inFlight: this.pace.holding,
      ...optional('waitP50Ms', round(this.waits.quantile(0.5))),
      ...optional('waitP95Ms', round(this.waits.quantile(0.95))),
      ...optional('inferenceP50Ms', round(this.inferences.quantile(0.5))),
      ...optional('inferenceP95Ms', round(this.inferences.quantile(0.95))),
      ...optional('meanBatchSize', round(this.batches.mean())),
    };
    return { activity, tasksPerSecond: this.pace.rate(nowMs) };
  }
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
