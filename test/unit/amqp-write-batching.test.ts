import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeEachTurnAtOnce } from '../../src/adapters/rabbitmq/connection.js';

/* amqplib writes each frame on its own; wrapped, the frames one turn writes leave the socket in one writev. */
describe('writeEachTurnAtOnce', () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  const socketPair = async () => {
    const received: Buffer[] = [];
    const server = createServer((peer) => peer.on('data', (chunk: Buffer) => received.push(chunk)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as { port: number };
    const socket = connect(address.port, '127.0.0.1');
    socket.setNoDelay(true);
    await once(socket, 'connect');
    closers.push(() => (socket.destroy(), server.close()));
    return { socket, received };
  };
  /** How many times the socket handed data to the OS: one `_write` or `_writev` each. */
  const countHandOffs = (socket: Socket) => {
    const counts = { write: 0, writev: 0 };
    const internals = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
    const [write, writev] = [internals._write.bind(socket), internals._writev.bind(socket)];
    internals._write = (...a) => (counts.write++, write(...a));
    internals._writev = (...a) => (counts.writev++, writev(...a));
    return counts;
  };

  it('sends a turn’s frames in one writev, in order, and the next turn’s in another', async () => {
    const { socket, received } = await socketPair();
    writeEachTurnAtOnce(socket);
    const counts = countHandOffs(socket);
    for (const frame of ['method|', 'header|', 'body|']) socket.write(frame);
    await new Promise((resolve) => setImmediate(resolve));
    expect(counts).toEqual({ write: 0, writev: 1 });
    socket.write('ack|');
    await new Promise((resolve) => setImmediate(resolve));
    expect(counts).toEqual({ write: 1, writev: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Buffer.concat(received).toString()).toBe('method|header|body|ack|');
  });

  it('leaves an unwrapped socket writing frame by frame (what amqplib does)', async () => {
    const { socket } = await socketPair();
    const counts = countHandOffs(socket);
    for (const frame of ['method|', 'header|', 'body|']) socket.write(frame);
    await new Promise((resolve) => setImmediate(resolve));
    expect(counts.write + counts.writev).toBeGreaterThan(1);
  });
});
