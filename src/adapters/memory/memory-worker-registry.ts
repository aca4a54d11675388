import type { WorkerBeat, WorkerRegistry } from '../../ports/worker-registry.js';

/** Heartbeats within one process (the embedded mode), with the same expiry as Redis's. */
export class MemoryWorkerRegistry implements WorkerRegistry {
  private readonly beats = new Map<string, { beat: WorkerBeat; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async heartbeat(beat: WorkerBeat, ttlSeconds: number): Promise<void> {
    this.beats.set(beat.workerId, { beat, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async live(): Promise<readonly WorkerBeat[]> {
    const now = this.now();
    for (const [id, entry] of this.beats) if (entry.expiresAt <= now) this.beats.delete(id);
    return [...this.beats.values()].map((entry) => entry.beat);
  }

  async remove(workerId: string): Promise<void> {
    this.beats.delete(workerId);
  }

  async close(): Promise<void> {
    this.beats.clear();
  }
}
