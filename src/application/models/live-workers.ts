import type { WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';

/**
 * Which live workers serve each model, and how fast they get through its
 * tasks, read from the registry at most once per `maxAgeMs` however many
 * requests ask: the API consults it on every submission and listing. A
 * registry that cannot be read counts as no information (undefined), never as
 * an error for the request.
 *
 * The request that finds the answer too old reads afresh and waits for its
 * read; others that ask meanwhile go on with the last answer rather than
 * wait on a read they did not start. Waiting on it would cost them another
 * request's store time on top of their own, and during a stall, a second
 * timeout.
 *
 * After the registry could not be read, the counts are unknown (undefined)
 * until `recoveryMs` (a beat's lifetime) have passed: the workers could not
 * beat while it was away either, so their beats may have expired in it,
 * and a read sent during the outage may be answered before their first
 * beats since. Believed, it would say that no worker lives, and refuse
 * requests that live workers would serve.
 */
export class LiveWorkers {
  private last: { at: number; beats: readonly WorkerBeat[] | undefined } | undefined;
  private reading: Promise<readonly WorkerBeat[] | undefined> | undefined;
  private unreadableAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly options: { readonly maxAgeMs: number; readonly recoveryMs: number } = { maxAgeMs: 1_000, recoveryMs: 0 },
  ) {}

  async count(model: string): Promise<number | undefined> {
    const counts = await this.counts();
    return counts ? (counts.get(model) ?? 0) : undefined;
  }

  async counts(): Promise<ReadonlyMap<string, number> | undefined> {
    const beats = await this.beats();
    if (!beats || Date.now() - this.unreadableAt < this.options.recoveryMs) return undefined;
    const counts = new Map<string, number>();
    for (const beat of beats) {
      for (const model of beat.models) counts.set(model, (counts.get(model) ?? 0) + 1);
    }
    return counts;
  }

  /**
   * Tasks a second the model's live workers get through together, summed
   * over those that have measured it; undefined when none has (no worker, or
   * none has had work yet).
   */
  async drainRate(model: string): Promise<number | undefined> {
    const rates = ((await this.beats()) ?? []).map((beat) => beat.throughput?.[model] ?? 0).filter((rate) => rate > 0);
    return rates.length === 0 ? undefined : rates.reduce((sum, rate) => sum + rate, 0);
  }

  private beats(): Promise<readonly WorkerBeat[] | undefined> | readonly WorkerBeat[] | undefined {
    const now = Date.now();
    // Strictly younger: a maxAgeMs of 0 reads on every call, even within one millisecond.
    if (this.last && now - this.last.at < this.options.maxAgeMs) return this.last.beats;
    // Only before any read has settled is there nothing else to answer with.
    if (this.reading) return this.last ? this.last.beats : this.reading;
    const reading = this.registry
      .live()
      .catch(() => {
        this.unreadableAt = Date.now();
        return undefined;
      })
      .then((beats) => {
        this.last = { at: now, beats };
        this.reading = undefined;
        return beats;
      });
    this.reading = reading;
    return reading;
  }
}
