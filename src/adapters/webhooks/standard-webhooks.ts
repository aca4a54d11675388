import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { Batch } from '../../domain/index.js';
import type { BatchEvents, BatchEventType } from '../../ports/batch-events.js';
import type { Logger } from '../../ports/logger.js';

export interface WebhookOptions {
  /** `whsec_…` (base64 after the prefix), as Standard Webhooks secrets are written. */
  readonly secret: string;
  /** Receives every batch's event, besides a batch's own `metadata.webhook_url`. */
  readonly url?: string;
  /** Waits before each retry of a failed delivery; after the last, the event is given up (and logged). */
  readonly retryDelaysMs: readonly number[];
  /** Longest wait for a receiver's answer. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/**
 * Batch events as Standard Webhooks (https://www.standardwebhooks.com):
 * a JSON POST signed with HMAC-SHA256 in the `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` headers, which the
 * `standardwebhooks` library of any language verifies. The body is OpenAI's
 * event shape (`{id, object: "event", type, created_at, data}`), its `data`
 * the batch's id, status, counts and files. A delivery that is not answered
 * 2xx is retried with the same id (receivers deduplicate on it), later each
 * time.
 */
export class StandardWebhookBatchEvents implements BatchEvents {
  private readonly signer: Webhook;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly deliveries = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WebhookOptions) {
    this.signer = new Webhook(options.secret);
  }

  notify(type: BatchEventType, batch: Batch): void {
    if (this.closed) return;
    const targets = new Set([this.options.url, batch.metadata?.webhook_url].filter((url): url is string => Boolean(url)));
    const id = `evt_${randomUUID().replaceAll('-', '')}`;
    const payload = JSON.stringify({
      id,
      object: 'event',
      type,
      created_at: Math.floor(Date.now() / 1000),
      data: {
        id: batch.id,
        status: batch.status,
        request_counts: batch.requestCounts,
        output_file_id: batch.outputFileId ?? null,
        error_file_id: batch.errorFileId ?? null,
      },
    });
    for (const url of targets) this.attempt(url, id, payload, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.deliveries]);
  }

  private attempt(url: string, id: string, payload: string, attempt: number): void {
    const delivery = this.deliver(url, id, payload).then((failure) => {
      if (failure === undefined) return;
      const log = { url, eventId: id, attempt: attempt + 1, reason: failure };
      const delay = this.options.retryDelaysMs[attempt];
      if (delay === undefined || this.closed) {
        this.options.logger.warn('webhook delivery given up', log);
        return;
      }
      this.options.logger.info('webhook delivery failed; retrying', { ...log, retryInMs: delay });
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.attempt(url, id, payload, attempt + 1);
      }, delay);
      this.timers.add(timer);
    });
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  /** Undefined when the receiver took it; else why not. */
  private async deliver(url: string, id: string, payload: string): Promise<string | undefined> {
    const now = new Date();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': this.signer.sign(id, now, payload),
        },
        body: payload,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `answered ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}

/** Stands in when no secret is configured: events are not sent unsigned. */
export class UnsentBatchEvents implements BatchEvents {
  constructor(private readonly logger: Logger) {}

  notify(type: BatchEventType, batch: Batch): void {
    if (batch.metadata?.webhook_url) {
      this.logger.warn('a batch asked for a webhook, but BATCHES_WEBHOOK_SECRET is not set: its event is not sent', { batchId: batch.id, type });
    }
  }

  async close(): Promise<void> {}
}
