import type { WorkerRegistry } from '../ports/worker-registry.js';

/**
 * How many live workers serve each model, read from the registry at most once
 * per `maxAgeMs` however many requests ask: the API consults it on every
 * submission and listing. A registry that cannot be read counts as no
 * information (undefined), never as an error for the request.
 */
export class LiveWorkers {
  private cached: { at: number; counts: Promise<ReadonlyMap<string, number> | undefined> } | undefined;

  constructor(
    private readonly registry: WorkerRegistry,
    private readonly maxAgeMs = 1_000,
  ) {}

  async count(model: string): Promise<number | undefined> {
    const counts = await this.counts();
    return counts ? (counts.get(model) ?? 0) : undefined;
  }

  counts(): Promise<ReadonlyMap<string, number> | undefined> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > this.maxAgeMs) {
      this.cached = { at: now, counts: this.read() };
    }
    return this.cached.counts;
  }

  private async read(): Promise<ReadonlyMap<string, number> | undefined> {
    try {
      const counts = new Map<string, number>();
      for (const beat of await this.registry.live()) {
        for (const model of beat.models) counts.set(model, (counts.get(model) ?? 0) + 1);
      }
      return counts;
    } catch {
      return undefined;
    }
  }
}
