import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/*
 * A client that sends its request a byte at a time cannot hold a connection
 * for long: past the headers or request timeout it gets 408 and the
 * connection is closed.
 */

describe('slow clients', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ listen: true, env: { API_HEADERS_TIMEOUT_SECONDS: '1', API_REQUEST_TIMEOUT_SECONDS: '2' } });
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Opens a raw connection and collects what comes back until the server closes it. */
  async function rawConnection(): Promise<{ socket: Socket; closed: Promise<{ reply: string; afterMs: number }> }> {
    const socket = connect(t.service.port!, '127.0.0.1');
    await once(socket, 'connect');
    const opened = performance.now();
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', () => undefined);
    const closed = once(socket, 'close').then(() => ({ reply, afterMs: performance.now() - opened }));
    return { socket, closed };
  }

  it('answers 408 and closes the connection when the headers do not arrive in time', async () => {
    const { socket, closed } = await rawConnection();
    socket.write('POST /v1/embeddings/tasks HTTP/1.1\r\nHost: localhost\r\n');
    const { reply, afterMs } = await closed;
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(afterMs).toBeLessThan(4_000);
  });

  it('answers 408 and closes the connection when a body trickles in too slowly', async () => {
    const { socket, closed } = await rawConnection();
    socket.write('POST /v1/embeddings/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(' '), 300);
    try {
      const { reply, afterMs } = await closed;
      expect(reply).toMatch(/^HTTP\/1\.1 408/);
      // Well before the 40 bytes would have arrived (12 s at this pace).
      expect(afterMs).toBeLessThan(5_000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('serves a client that sends in time', async () => {
    expect((await t.get('/health/live')).status).toBe(200);
    const response = await fetch(`http://127.0.0.1:${t.service.port}/v1/models`);
    expect(response.status).toBe(200);
  });
});
