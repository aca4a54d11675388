import type { MiddlewareHandler } from 'hono';
import { ServiceUnavailableError } from '../../domain/index.js';
import type { HttpEnv } from './types.js';

/**
 * Graceful shutdown for an HTTP app: once draining, new requests get 503 with
 * Retry-After (liveness still answers, so the process is not killed for it),
 * while requests already running finish; `idle()` resolves when none is left.
 */
export class HttpLifecycle {
  private draining = false;
  private inFlight = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly retryAfterSeconds = 5) {}

  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  readonly middleware: MiddlewareHandler<HttpEnv> = async (c, next) => {
    if (this.draining && c.req.path !== '/health/live') {
      throw new ServiceUnavailableError('The service is shutting down; retry against another instance.', this.retryAfterSeconds);
    }
    this.inFlight++;
    try {
      await next();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  };
}
