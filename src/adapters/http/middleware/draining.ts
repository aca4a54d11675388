import type { MiddlewareHandler } from 'hono';
import { ServiceUnavailableError } from '../../../domain/index.js';
import type { HttpEnv } from '../types.js';

/**
 * Graceful shutdown for an HTTP app. Once draining, new requests get 503
 * with Retry-After and `Connection: close`, so keep-alive clients move to
 * another instance (liveness still answers, so the process is not killed
 * for it), while requests already being served finish. `idle()` resolves
 * when none is being served and none was accepted for `quietMs`: requests
 * already on the wire when draining began (and, behind a load balancer,
 * those sent before it noticed) are still served. Turned-away requests do
 * not count, so steady traffic cannot hold a draining process open.
 */
export class HttpLifecycle {
  private draining = false;
  private inFlight = 0;
  private lastAccepted = 0;
  private readonly drain = new AbortController();
  /** Aborts when draining begins: long-lived responses (event streams) end then, rather than hold the shutdown. */
  readonly stopping: AbortSignal = this.drain.signal;

  constructor(
    private readonly retryAfterSeconds = 5,
    private readonly quietMs = 500,
  ) {}

  startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.drain.abort();
    // Requests accepted from now on are those already on the wire; give them quietMs to arrive.
    this.lastAccepted = Date.now();
  }

  async idle(): Promise<void> {
    for (;;) {
      const quietFor = Date.now() - this.lastAccepted;
      if (this.inFlight === 0 && quietFor >= this.quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, this.inFlight === 0 ? this.quietMs - quietFor : 50));
    }
  }

  readonly middleware: MiddlewareHandler<HttpEnv> = async (c, next) => {
    if (this.draining && c.req.path !== '/health/live') {
      c.set('closeConnection', true);
      throw new ServiceUnavailableError('The service is shutting down; retry against another instance.', this.retryAfterSeconds);
    }
    this.lastAccepted = Date.now();
    this.inFlight++;
    try {
      await next();
    } finally {
      this.inFlight--;
    }
  };
}
