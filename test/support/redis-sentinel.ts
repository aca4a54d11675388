import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

/*
 * Redis with Sentinel, of a test's own, beside the machine's Redis: a
 * primary, its replicas and three sentinels, each a process on a free port
 * of 127.0.0.1, with nothing kept on disk but the sentinels' own files.
 */

export const SENTINEL_NAME = 'mymaster';

export function canStartRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

export interface RedisNode {
  readonly port: number;
  /** SIGKILL: the node dies without a word, as a lost machine does. */
  kill(): void;
  /** Starts it again on the same port, as a replica of the node on `primaryPort`, as an orchestrator brings a lost node back. */
  restart(primaryPort: number): Promise<void>;
}

export interface SentinelSetUp {
  readonly nodes: readonly RedisNode[];
  readonly sentinels: readonly { host: string; port: number }[];
  /** The port of the node the sentinels name primary now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A primary, `replicas` replicas of it, and three sentinels watching them (a quorum of two, a node down after 1 s). */
export async function redisSentinel(replicas = 1): Promise<SentinelSetUp> {
  const dir = await mkdtemp(join(tmpdir(), 'sentinel-'));
  const children = new Set<ChildProcess>();
  const launch = (args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const answers = async (port: number) => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };

  const ports = await Promise.all(Array.from({ length: replicas + 1 }, () => freePort()));
  const primary = ports[0]!;
  const node = (port: number) => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `dump-${port}.rdb`];
    let child: ChildProcess | undefined;
    const start = async (replicaOf?: number) => {
      child = launch([...args, ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)])]);
      await waitFor(() => answers(port), 10_000, `Redis on ${port}`);
    };
    return { port, kill: () => void child?.kill('SIGKILL'), restart: start, start };
  };
  const nodes = ports.map(node);
  await nodes[0]!.start();
  await Promise.all(nodes.slice(1).map((n) => n.start(primary)));

  const sentinelPorts = await Promise.all([0, 1, 2].map(() => freePort()));
  for (const port of sentinelPorts) {
    const file = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
        `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
        `sentinel parallel-syncs ${SENTINEL_NAME} 1`,
      ].join('\n') + '\n',
    );
    launch([file, '--sentinel']);
  }
  const sentinel = (port: number) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 }).on('error', () => undefined);
  const primaryPort = async () => {
    const client = sentinel(sentinelPorts[0]!);
    try {
      const [, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_NAME)) as [string, string];
      return Number(port);
    } finally {
      client.disconnect();
    }
  };
  // Ready once every sentinel knows every replica and its fellow sentinels, and every replica has synced.
  await waitFor(
    async () => {
      for (const port of sentinelPorts) {
        const client = sentinel(port);
        try {
          const known = (await client.call('SENTINEL', 'replicas', SENTINEL_NAME)) as unknown[];
          const peers = (await client.call('SENTINEL', 'sentinels', SENTINEL_NAME)) as unknown[];
          if (known.length < replicas || peers.length < 2) return false;
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }
      const client = new Redis({ port: primary, host: '127.0.0.1' }).on('error', () => undefined);
      try {
        return /connected_slaves:(\d+)/.exec(await client.info('replication'))?.[1] === String(replicas);
      } finally {
        client.disconnect();
      }
    },
    30_000,
    'the sentinels to know the replicas and each other',
  );
  return {
    nodes,
    sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    primaryPort,
    stop: async () => {
      for (const child of children) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
