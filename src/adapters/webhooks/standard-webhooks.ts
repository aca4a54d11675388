import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Agent, fetch } from 'undici';
import type { Batch } from '../../domain/index.js';
import type { BatchEvents, BatchEventType } from '../../ports/batch-events.js';
import type { Logger } from '../../ports/logger.js';
import { WebhookTargets } from './targets.js';

export interface WebhookOptions {
  /** `whsec_…` (base64 after the prefix), as Standard Webhooks secrets are written. */
  readonly secret: string;
  /** Receives every batch's event, besides a batch's own `metadata.webhook_url`. */
  readonly url?: string;
  /** Waits before each retry of a failed delivery; after the last, the event is given up (and logged). */
  readonly retryDelaysMs: readonly number[];
  /** Longest wait for a receiver's answer. */
  readonly timeoutMs: number;
  /** Lets webhooks reach loopback, private and link-local addresses (tests, private deployments). */
  readonly allowPrivateTargets?: boolean;
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
 * time. Only public addresses are reached (see `WebhookTargets`), and a
 * redirect is not followed: it counts as a failed delivery.
 */
export class StandardWebhookBatchEvents implements BatchEvents {
  private readonly signer: Webhook;
  private readonly targets: WebhookTargets;
  /** Connects only to the addresses the targets' lookup lets through. */
  private readonly dispatcher: Agent;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly deliveries = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WebhookOptions) {
    this.signer = new Webhook(options.secret);
    this.targets = new WebhookTargets(options.allowPrivateTargets ?? false);
    this.dispatcher = new Agent({ connect: { lookup: this.targets.lookup } });
  }

  refusal(url: string): string | undefined {
    return this.targets.refusal(url);
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
    for (const url of targets) {
      const refused = this.targets.refusal(url);
      if (refused) this.options.logger.warn('webhook target refused', { url, batchId: batch.id, reason: refused });
      else this.attempt(url, id, payload, 0);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.deliveries]);
    await this.dispatcher.close();
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
        redirect: 'manual',
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
      if (response.status >= 300 && response.status < 400) return `answered ${response.status}; redirects are not followed`;
      return response.ok ? undefined : `answered ${response.status}`;
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause;
      return cause ? `${(error as Error).message}: ${cause.message}` : (error as Error).message;
    }
  }
}

/** Stands in when no secret is configured: events are not sent unsigned. */
export class UnsentBatchEvents implements BatchEvents {
  private readonly targets: WebhookTargets;

  constructor(
    private readonly logger: Logger,
    allowPrivateTargets = false,
  ) {
    this.targets = new WebhookTargets(allowPrivateTargets);
  }

  refusal(url: string): string | undefined {
    return this.targets.refusal(url);
  }

  notify(type: BatchEventType, batch: Batch): void {
    if (batch.metadata?.webhook_url) {
      this.logger.warn('a batch asked for a webhook, but BATCHES_WEBHOOK_SECRET is not set: its event is not sent', { batchId: batch.id, type });
    }
  }

  async close(): Promise<void> {}
}
