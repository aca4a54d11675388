import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server, owned by one test. `stall()` stops
 * passing bytes either way (a paused, swapping or silently partitioned
 * server), `cut()` drops every connection and refuses new ones (a server that
 * is down), and `resume()` undoes either. Only the connections made through
 * the proxy are affected; other clients of the server never notice.
 */
export interface FaultProxy {
  readonly port: number;
  stall(): void;
  cut(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function faultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  const accept = (client: Socket) => {
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
  };
  const pause = ([a, b]: [Socket, Socket]) => {
    a.pause();
    b.pause();
  };
  const listen = async (port: number): Promise<Server> => {
    const server = createServer(accept).listen(port, '127.0.0.1');
    await once(server, 'listening');
    return server;
  };
  const dropAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  let server: Server | undefined = await listen(0);
  const port = (server.address() as { port: number }).port;
  const stop = async () => {
    const closing = server;
    server = undefined;
    dropAll();
    if (closing) await new Promise((resolve) => closing.close(resolve));
  };
  return {
    port,
    stall: () => {
      stalled = true;
      for (const pair of pairs) pause(pair);
    },
    cut: stop,
    resume: async () => {
      stalled = false;
      for (const [a, b] of pairs) {
        a.resume();
        b.resume();
      }
      server ??= await listen(port);
    },
    close: stop,
  };
}
