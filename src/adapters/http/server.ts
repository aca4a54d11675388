import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';

export interface HttpServer {
  /** The port actually bound (useful when 0 was asked for). */
  readonly port: number;
  /**
   * Stops accepting connections and resolves once open ones have closed.
   * Idle keep-alive connections are closed at once; `force` also cuts busy ones.
   */
  close(force?: boolean): Promise<void>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Longest wait for a request's headers. */
  readonly headersTimeoutMs: number;
  /** Longest wait for a whole request, headers and body, however slowly it trickles in. */
  readonly requestTimeoutMs: number;
}

/**
 * Serves `fetch` over HTTP/1.1. A request that takes longer than its
 * timeouts to arrive gets Node's `408 Request Timeout`, and its connection
 * is closed: a client sending a byte every few seconds cannot hold one open.
 */
export function startHttpServer(fetch: (request: Request) => Response | Promise<Response>, options: HttpServerOptions): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const serverOptions = {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // How often Node checks those timeouts (30 s by default, which would let a slow request run that much over).
      connectionsCheckingInterval: Math.min(1_000, options.headersTimeoutMs),
    };
    const server = serve({ fetch, hostname: options.host, port: options.port, serverOptions }, (info: AddressInfo) => {
      resolve({
        port: info.port,
        close: (force = false) =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Idle keep-alive sockets would hold close() open until they time out.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
            if (force && 'closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
