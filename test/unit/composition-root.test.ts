import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { loadConfig } from '../../src/bootstrap/config/load.js';
import { TOKENS } from '../../src/bootstrap/identifiers.js';
import { redisKeyPrefix } from '../../src/bootstrap/modules/infrastructure.js';
import { buildContainer } from '../../src/bootstrap/service.js';
import { resolve } from '../../src/bootstrap/tokens.js';
import { LogSink } from '../support/log-sink.js';
import { REPO_ROOT } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/*
 * The composition root builds an adapter when it is resolved (a component
 * starting), never when the container loads: the container's activations
 * say what was built, and a TCP listener standing in for Redis counts the
 * connections made to it.
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
    // Adapters connect in their constructors: loading built none of them if none was activated.
    const built: string[] = [];
    const adapters = { TaskStore: TOKENS.TaskStore, TaskEvents: TOKENS.TaskEvents, WorkerRegistry: TOKENS.WorkerRegistry, RateLimiter: TOKENS.RateLimiter, FileStore: TOKENS.FileStore, BatchStore: TOKENS.BatchStore, TaskQueue: TOKENS.TaskQueue };
    for (const [name, token] of Object.entries(adapters)) {
      container.onActivation(token as symbol, (_context, instance) => {
        built.push(name);
        return instance;
      });
    }
    expect(built).toEqual([]);
    expect(redis.connections()).toBe(0);
    // Resolving the store (as its component does when it starts) is what connects it.
    const store = resolve(container, TOKENS.TaskStore);
    expect(built).toEqual(['TaskStore']);
    await waitFor(() => redis.connections() > 0, 5_000, 'a connection to the stand-in Redis');
    await store.close();
    // Each of the others is activated when first resolved, so none was built while loading either.
    for (const token of Object.values(adapters).slice(1)) await resolve(container, token as typeof TOKENS.TaskStore).close();
    expect(built).toEqual(Object.keys(adapters));
  });

  it('prefixes Redis keys with the deployment namespace once, even when the key prefix already names it', () => {
    const prefix = (env: Record<string, string>) => redisKeyPrefix(loadConfig({ env, cwd: REPO_ROOT }).service);
    expect(prefix({})).toBe('embeddings:');
    expect(prefix({ DEPLOYMENT_NAMESPACE: 'ns' })).toBe('ns:embeddings:');
    expect(prefix({ DEPLOYMENT_NAMESPACE: 'ns', REDIS_KEY_PREFIX: 'ns:' })).toBe('ns:');
    expect(prefix({ DEPLOYMENT_NAMESPACE: 'ns', REDIS_KEY_PREFIX: 'ns:tasks:' })).toBe('ns:tasks:');
    expect(prefix({ DEPLOYMENT_NAMESPACE: 'ns', REDIS_KEY_PREFIX: 'nsx:' })).toBe('ns:nsx:');
  });
});
