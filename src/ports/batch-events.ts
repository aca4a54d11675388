import type { Batch } from '../domain/index.js';

/** How a batch ended, as its event names it. */
export type BatchEventType = 'batch.completed' | 'batch.failed' | 'batch.expired' | 'batch.cancelled';

/**
 * Tells those who asked (a deployment-wide URL, a batch's own) that a batch
 * has ended. Delivery is at-least-once while the process lives: failures are
 * retried with backoff, in the background; `notify` never throws.
 */
export interface BatchEvents {
  notify(type: BatchEventType, batch: Batch): void;
  /** Waits (a bounded time) for deliveries under way, then stops retrying. */
  close(): Promise<void>;
}
