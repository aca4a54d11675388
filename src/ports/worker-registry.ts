/** What a worker has done with one model since it started, and lately. */
export interface ModelActivity {
  readonly done: number;
  readonly failed: number;
  /** Tasks it holds now (taken from the queue, not yet settled). */
  readonly inFlight: number;
  /** Over its latest tasks and batches. */
  readonly waitP50Ms?: number;
  readonly waitP95Ms?: number;
  readonly inferenceP50Ms?: number;
  readonly inferenceP95Ms?: number;
  readonly meanBatchSize?: number;
}

/** What a worker says about itself when it reports in. */
export interface WorkerBeat {
  readonly workerId: string;
  readonly host: string;
  readonly pid?: number;
  readonly models: readonly string[];
  readonly startedAt: Date;
  /** Tasks a second the worker gets through, per model, while it has work (see the worker's drain meter). */
  readonly throughput?: Readonly<Record<string, number>>;
  readonly activity?: Readonly<Record<string, ModelActivity>>;
  /** Its resident memory when it reported. */
  readonly rssBytes?: number;
  /** When it sent this beat. */
  readonly reportedAt?: Date;
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
