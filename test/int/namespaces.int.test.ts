import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { writeMlConfig } from '../support/ml-config.js';
import { deleteKeys, deleteQueues } from '../support/namespace.js';
import { freePort, startProcess, type ServiceProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/*
 * Two deployments of the same models on one RabbitMQ and one Redis, told
 * apart only by DEPLOYMENT_NAMESPACE: each API and worker sees its own
 * deployment's queues and tasks, and both finish all their work. Without
 * the namespace they would share the queue `embeddings.bert` and take each
 * other's messages.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

describe.skipIf(!amqp || !store)('two deployments sharing a broker and a Redis', () => {
  const run = randomUUID().slice(0, 8);
  const namespaces = [`blue-${run}`, `green-${run}`];
  let dir: string;
  const processes: ServiceProcess[] = [];
  const apiPorts: number[] = [];
  const healthPorts: number[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'namespaces-'));
    const bert = await writeBertFolder(join(dir, 'bert'));
    // The same models file for both, with no queue names of its own: only the namespace keeps them apart.
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [{ id: 'bert', engine: 'onnx', path: bert }]);
    for (const namespace of namespaces) {
      const apiPort = await freePort();
      const healthPort = await freePort();
      apiPorts.push(apiPort);
      healthPorts.push(healthPort);
      const env = {
        ML_CONFIG_PATH: mlConfig,
        AMQP_URL: amqp!.url,
        REDIS_URL: store!.url,
        DEPLOYMENT_NAMESPACE: namespace,
        API_HOST: '127.0.0.1',
        API_PORT: String(apiPort),
        WORKER_HEALTH_PORT: String(healthPort),
        LOG_LEVEL: 'warn',
        WORKER_THREADS: '1',
      };
      const api = startProcess(['--mode', 'api'], env);
      const worker = startProcess(['--mode', 'worker'], env);
      processes.push(api, worker);
      await Promise.all([api.ready(apiPort), worker.ready(healthPort)]);
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const namespace of namespaces) {
      await deleteQueues(amqp!.url, [`${namespace}.embeddings.bert`, `${namespace}.embeddings.bert.bulk`, `${namespace}.embeddings.bert.calls`, `${namespace}.embeddings.bert.dead`]);
      await deleteKeys(store!.url, `${namespace}:`);
    }
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('each finishes all of its own tasks, and neither sees the other’s', async () => {
    const submit = async (port: number, text: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: text }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const status = async (port: number, id: string) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings/tasks/${id}`);
      return response.status === 404 ? 'not found' : ((await response.json()) as { status: string }).status;
    };
    const ids = await Promise.all(
      apiPorts.map(async (port, d) => Promise.all(Array.from({ length: 30 }, (_, i) => submit(port, `deployment ${d} text ${i}`)))),
    );
    for (const [d, port] of apiPorts.entries()) {
      await waitFor(async () => (await Promise.all(ids[d]!.map((id) => status(port, id)))).every((s) => s === 'succeeded'), 30_000, `deployment ${d}'s tasks`);
      // The other deployment does not know these tasks.
      expect(await status(apiPorts[1 - d]!, ids[d]![0]!)).toBe('not found');
    }
    // No worker met a message of the other deployment's (it would have found no record and dead-lettered it).
    for (const port of healthPorts) {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/embedding_tasks_completed_total\{[^}]*outcome="succeeded"[^}]*\} 30\b/);
      expect(metrics).not.toMatch(/embedding_messages_dead_lettered_total\{[^}]*\} [1-9]/);
    }
  }, 90_000);
});
