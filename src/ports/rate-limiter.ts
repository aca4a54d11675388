import type { Allowance } from '../domain/index.js';

/** The outcome of a take: whether it was granted, and the allowance as it stands afterwards. */
export interface Take {
  readonly granted: boolean;
  readonly allowance: Allowance;
}

/**
 * Per-bucket allowances that start afresh every window (a minute in
 * production), shared by every process that uses the same store.
 *
 * Guarantees:
 * - `take` is atomic: however many processes take from a bucket at once, the
 *   takes granted in one window never add up to more than `limit`.
 * - A refused take takes nothing, so a caller over the limit is not pushed
 *   further behind by its retries.
 * - `resetMs` is the time left until the bucket's window starts afresh, at
 *   most the window; a bucket nothing was taken from has its whole limit.
 * - Buckets are independent of each other.
 * - When the store cannot be reached, calls reject with `ServiceUnavailableError`.
 */
export interface RateLimiter {
  take(bucket: string, amount: number, limit: number): Promise<Take>;
  /** The allowance as it stands, taking nothing. */
  peek(bucket: string, limit: number): Promise<Allowance>;
  close(): Promise<void>;
}
