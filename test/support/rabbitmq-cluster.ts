import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rabbitNode, type RabbitNode } from './rabbitmq-node.js';

const run = promisify(execFile);

/**
 * A RabbitMQ cluster of a test's own, beside the machine's broker: `size`
 * nodes with their own names, ports, data directories and Erlang cookie,
 * the second and later joined to the first. Quorum queues declared on it
 * get a member on every node.
 */
export interface RabbitCluster {
  readonly nodes: readonly RabbitNode[];
  /** Every node's URL, comma-separated, as AMQP_URL takes them. */
  readonly url: string;
  /** The node whose member leads the quorum queue `queue`, asked of any node still up. */
  leaderOf(queue: string): Promise<RabbitNode>;
  remove(): Promise<void>;
}

export async function rabbitCluster(size = 3): Promise<RabbitCluster | undefined> {
  const home = await mkdtemp(join(tmpdir(), 'rabbit-cluster-'));
  const cookie = join(home, '.erlang.cookie');
  await writeFile(cookie, randomBytes(20).toString('hex').toUpperCase());
  const [uid, gid] = await Promise.all([run('id', ['-u', 'rabbitmq']), run('id', ['-g', 'rabbitmq'])]);
  await chown(home, Number(uid.stdout), Number(gid.stdout));
  await chown(cookie, Number(uid.stdout), Number(gid.stdout));
  await chmod(cookie, 0o400);
  const started = await Promise.all(Array.from({ length: size }, () => rabbitNode({ home })));
  if (started.some((node) => node === undefined)) return undefined;
  const nodes = started as RabbitNode[];
  const [first, ...others] = nodes;
  for (const node of others) {
    await node.ctl('stop_app');
    await node.ctl(`join_cluster ${first!.node}`);
    await node.ctl('start_app');
  }
  return {
    nodes,
    url: nodes.map((node) => node.url).join(','),
    leaderOf: async (queue) => {
      for (const asked of nodes) {
        const listing = await asked.ctl('list_queues name leader --quiet --no-table-headers').catch(() => undefined);
        const line = listing?.split('\n').find((l) => l.split('\t')[0] === queue);
        const leader = line && nodes.find((node) => node.node === line.split('\t')[1]?.trim());
        if (leader) return leader;
      }
      throw new Error(`no node names a leader of ${queue}`);
    },
    remove: async () => {
      await Promise.all(nodes.map((node) => node.remove()));
      await rm(home, { recursive: true, force: true });
    },
  };
}
