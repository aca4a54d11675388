import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { TOKENS } from '../../src/bootstrap/identifiers.js';
import { buildContainer } from '../../src/bootstrap/service.js';
import { resolve } from '../../src/bootstrap/tokens.js';
import { LogSink } from '../support/log-sink.js';
import { REPO_ROOT } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/*
 * The composition root builds an adapter when it is resolved (a component
 * starting), never when the container loads. A TCP listener stands in for
 * Redis and counts the connections made to it.
 */

let listener: Server | undefined;
afterEach(async () => {
  listener?.close();
  listener = undefined;
});

async function countingListener(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  listener = createServer((socket) => {
    connections++;
    socket.destroy();
  }).listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return { port: (listener.address() as { port: number }).port, connections: () => connections };
}

describe('the composition root', () => {
  it('connects nothing while the container loads, and connects an adapter when it is resolved', async () => {
    const redis = await countingListener();
    const config = loadConfig({
      env: { STORE_DRIVER: 'redis', QUEUE_DRIVER: 'memory', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) },
      cwd: REPO_ROOT,
    });
    const container = buildContainer(config, undefined, { logger: createPinoLogger({ level: 'silent', destination: new LogSink() }) });
    // An ioredis client connects within milliseconds of being built; a tenth of a second of silence means none was built.
    await new Promise((r) => setTimeout(r, 100));
    expect(redis.connections()).toBe(0);
    // Resolving the store (as its component does when it starts) is what connects it.
    const store = resolve(container, TOKENS.TaskStore);
    await waitFor(() => redis.connections() > 0, 5_000, 'a connection to the stand-in Redis');
    await store.close();
  });
});
