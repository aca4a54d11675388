/** What a worker says about itself when it reports in. */
export interface WorkerBeat {
  readonly workerId: string;
  readonly host: string;
  readonly models: readonly string[];
  readonly startedAt: Date;
  /** Tasks a second the worker gets through, per model, while it has work (see the worker's drain meter). */
  readonly throughput?: Readonly<Record<string, number>>;
}

/**
 * Which workers are alive and which models they serve, for the API to tell
 * clients whether a model has anyone to run it.
 *
 * Guarantees: a heartbeat is visible to every process sharing the registry
 * and expires `ttlSeconds` after it was made, so a worker that dies without a
 * word disappears by itself; heartbeats are idempotent (the latest wins).
 */
export interface WorkerRegistry {
  heartbeat(beat: WorkerBeat, ttlSeconds: number): Promise<void>;
  /** Workers whose last heartbeat has not expired, in no particular order. */
  live(): Promise<readonly WorkerBeat[]>;
  /** A worker that stops cleanly leaves at once. */
  remove(workerId: string): Promise<void>;
  close(): Promise<void>;
}
