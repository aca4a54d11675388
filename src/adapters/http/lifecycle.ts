import type { MiddlewareHandler } from 'hono';
import { ServiceUnavailableError } from '../../domain/index.js';
import type { HttpEnv } from './types.js';

/**
 * Graceful shutdown for an HTTP app: once draining, new requests get 503 with
 * Retry-After (liveness still answers, so the process is not killed for it),
 * while requests already running finish. `idle()` resolves when none is
 * running and none has arrived for `quietMs`: requests already on the wire
 * when draining began (and, behind a load balancer, those sent before it
 * noticed) get their answer instead of a closed connection.
 */
export class HttpLifecycle {
  private draining = false;
  private inFlight = 0;
  private lastArrival = 0;

  constructor(
    private readonly retryAfterSeconds = 5,
    private readonly quietMs = 500,
  ) {}

  startDraining(): void {
    this.draining = true;
  }

  async idle(): Promise<void> {
    for (;;) {
      const quietFor = Date.now() - this.lastArrival;
      if (this.inFlight === 0 && quietFor >= this.quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, this.inFlight === 0 ? this.quietMs - quietFor : 50));
    }
  }

  readonly middleware: MiddlewareHandler<HttpEnv> = async (c, next) => {
    this.lastArrival = Date.now();
    if (this.draining && c.req.path !== '/health/live') {
      throw new ServiceUnavailableError('The service is shutting down; retry against another instance.', this.retryAfterSeconds);
    }
    this.inFlight++;
    try {
      await next();
    } finally {
      this.inFlight--;
    }
  };
}
