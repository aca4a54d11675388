import { isFinalBatch, type Batch } from '../../domain/index.js';
import type { BatchChunk, BatchQuery, BatchStore, ChunkOutcome, OutcomeCounts } from '../../ports/batch-store.js';

interface Work {
  readonly chunks: Map<number, BatchChunk>;
  readonly outcomes: Map<number, ChunkOutcome>;
}

/**
 * Batches in this process (the embedded mode, where the queue and the tasks
 * are in memory too): they live as long as the process does.
 */
export class MemoryBatchStore implements BatchStore {
  private readonly batches = new Map<string, Batch>();
  private readonly work = new Map<string, Work>();
  private readonly leases = new Map<string, { holder: string; until: number }>();

  constructor(
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(batch: Batch): Promise<void> {
    this.forgetExpired();
    this.batches.set(batch.id, batch);
  }

  async get(id: string): Promise<Batch | undefined> {
    this.forgetExpired();
    return this.batches.get(id);
  }

  async list({ owner, after, limit }: BatchQuery): Promise<Batch[]> {
    this.forgetExpired();
    const newestFirst = [...this.batches.values()].filter((b) => owner === undefined || b.owner === owner).reverse();
    const start = after === undefined ? 0 : newestFirst.findIndex((b) => b.id === after) + 1;
    return start === 0 && after !== undefined ? [] : newestFirst.slice(start, start + limit);
  }

  /** Read, change and write in one turn of the event loop: nothing can come between. */
  async update(id: string, change: (batch: Batch) => Batch): Promise<Batch | undefined> {
    this.forgetExpired();
    const batch = this.batches.get(id);
    if (!batch) return undefined;
    const changed = change(batch);
    this.batches.set(id, changed);
    return changed;
  }

  async unfinished(): Promise<string[]> {
    this.forgetExpired();
    return [...this.batches.values()].filter((b) => !isFinalBatch(b)).map((b) => b.id);
  }

  async lease(id: string, holder: string, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(id);
    if (lease && lease.holder !== holder && lease.until > this.now()) return false;
    this.leases.set(id, { holder, until: this.now() + ttlMs });
    return true;
  }

  async release(id: string, holder: string): Promise<void> {
    if (this.leases.get(id)?.holder === holder) this.leases.delete(id);
  }

  async saveChunk(id: string, chunk: BatchChunk): Promise<void> {
    this.workOf(id).chunks.set(chunk.index, chunk);
  }

  async chunks(id: string): Promise<BatchChunk[]> {
    return [...(this.work.get(id)?.chunks.values() ?? [])].sort((a, b) => a.index - b.index);
  }

  async saveOutcome(id: string, index: number, outcome: ChunkOutcome): Promise<boolean> {
    const { outcomes } = this.workOf(id);
    if (outcomes.has(index)) return false;
    outcomes.set(index, outcome);
    return true;
  }

  async outcomeCounts(id: string): Promise<Map<number, OutcomeCounts>> {
    const counts = new Map<number, OutcomeCounts>();
    for (const [index, { completed, failed, tokens }] of this.work.get(id)?.outcomes ?? []) counts.set(index, { completed, failed, tokens });
    return counts;
  }

  async *outcomes(id: string): AsyncIterable<ChunkOutcome> {
    const outcomes = this.work.get(id)?.outcomes;
    if (!outcomes) return;
    for (const index of [...outcomes.keys()].sort((a, b) => a - b)) yield outcomes.get(index)!;
  }

  async dropWork(id: string): Promise<void> {
    this.work.delete(id);
  }

  async close(): Promise<void> {}

  private workOf(id: string): Work {
    let work = this.work.get(id);
    if (!work) {
      work = { chunks: new Map(), outcomes: new Map() };
      this.work.set(id, work);
    }
    return work;
  }

  private forgetExpired(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const [id, batch] of this.batches) {
      if (batch.createdAt.getTime() >= cutoff) break;
      this.batches.delete(id);
      this.work.delete(id);
    }
  }
}
