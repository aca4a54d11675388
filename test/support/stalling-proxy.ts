import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server, owned by one test: `stall()` stops
 * passing bytes either way (as a paused, swapping or partitioned server
 * would look from the client), `resume()` lets them through again. Only the
 * connections made through it are affected; other clients of the server
 * never notice.
 */
export interface StallingProxy {
  readonly port: number;
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function stallingProxy(target: { host: string; port: number }): Promise<StallingProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const server = createServer((client) => {
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    if (stalled) pause(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const pause = ([a, b]: [Socket, Socket]) => {
    a.pause();
    b.pause();
  };
  return {
    port: (server.address() as { port: number }).port,
    stall: () => {
      stalled = true;
      for (const pair of pairs) pause(pair);
    },
    resume: () => {
      stalled = false;
      for (const [a, b] of pairs) {
        a.resume();
        b.resume();
      }
    },
    close: async () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
