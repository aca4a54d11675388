import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

/**
 * A RabbitMQ node of a test's own, beside the machine's, on ports of its
 * own, that the test may stop and start again: a real broker restart, which
 * cutting connections cannot show (a restart loses every transient message
 * the broker held). Its data dir survives a restart, as a real node's does.
 */
export interface RabbitNode {
  readonly url: string;
  /** Its Erlang node name, e.g. rabbit-test-5680@localhost. */
  readonly node: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL to its Erlang VM: the node dies without a word, as a lost machine does. */
  kill(): Promise<void>;
  /** rabbitmqctl against this node, as `rabbitmq`, with its cookie; its output. */
  ctl(args: string): Promise<string>;
  /** Stops the node and removes its files. */
  remove(): Promise<void>;
}

/** Whether `rabbitNode` can start one here: RabbitMQ's scripts installed, and this process root, which may run them as `rabbitmq`. */
export function canStartRabbitNode(): boolean {
  return existsSync(join(BIN, 'rabbitmq-server')) && process.getuid?.() === 0;
}

/**
 * Undefined where no node can be started here: the server's scripts are
 * missing, or this process can run them as neither root nor `rabbitmq`.
 * The machine's config pins port 5672, so the node gets its own config,
 * plugins file (none: the Prometheus plugin's port is taken), node name and
 * distribution port.
 */
export async function rabbitNode(options: { readonly home?: string } = {}): Promise<RabbitNode | undefined> {
  if (!canStartRabbitNode()) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), `rabbit-${port}-`));
  await mkdir(join(dir, 'mnesia'));
  await mkdir(join(dir, 'log'));
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  const { stdout } = await run('id', ['-u', 'rabbitmq']);
  const { stdout: group } = await run('id', ['-g', 'rabbitmq']);
  for (const path of ['', 'mnesia', 'log', 'rabbitmq.conf', 'enabled_plugins']) await chown(join(dir, path), Number(stdout), Number(group));
  const node = `rabbit-test-${port}@localhost`;
  const env = [
    // The Erlang cookie is $HOME/.erlang.cookie: a cluster's nodes share one of their own (see rabbitmq-cluster.ts).
    `HOME=${options.home ?? '/var/lib/rabbitmq'}`,
    `RABBITMQ_PID_FILE=${join(dir, 'pid')}`,
    `RABBITMQ_NODENAME=${node}`,
    `RABBITMQ_NODE_PORT=${port}`,
    `RABBITMQ_DIST_PORT=${await freePort()}`,
    `RABBITMQ_CONFIG_FILE=${join(dir, 'rabbitmq.conf')}`,
    `RABBITMQ_MNESIA_BASE=${join(dir, 'mnesia')}`,
    `RABBITMQ_LOG_BASE=${join(dir, 'log')}`,
    `RABBITMQ_ENABLED_PLUGINS_FILE=${join(dir, 'enabled_plugins')}`,
  ];
  const asRabbit = (command: string) => run('su', ['rabbitmq', '-s', '/bin/sh', '-c', `cd ${dir} && env ${env.join(' ')} ${command}`], { timeout: 60_000 });
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  const start = async () => {
    await asRabbit(`${BIN}/rabbitmq-server -detached`);
    await waitFor(listening, 60_000, `RabbitMQ node ${node} to listen`);
  };
  const stop = async () => {
    await asRabbit(`${BIN}/rabbitmqctl -n ${node} stop`).catch(() => undefined);
    await waitFor(async () => !(await listening()), 30_000, `RabbitMQ node ${node} to stop`);
  };
  const kill = async () => {
    const pid = Number((await readFile(join(dir, 'pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await listening()), 30_000, `RabbitMQ node ${node} to die`);
  };
  await start();
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    start,
    stop,
    kill,
    ctl: async (args) => (await asRabbit(`${BIN}/rabbitmqctl -n ${node} ${args}`)).stdout,
    remove: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
