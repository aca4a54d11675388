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
  /**
   * Why a batch's webhook URL is refused when the batch is created (not an
   * http(s) URL, or one that names an address a webhook may not reach);
   * undefined when it may be tried. A name is judged again, by the
   * addresses it resolves to, each time an event is sent.
   */
  refusal(url: string): string | undefined;
  /** Waits (a bounded time) for deliveries under way, then stops retrying. */
  close(): Promise<void>;
}
