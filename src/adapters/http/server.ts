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

export function startHttpServer(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { host: string; port: number },
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
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
