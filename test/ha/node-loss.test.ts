import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxEmbeddingModel } from '../../src/adapters/onnx/onnx-embedding-model.js';
import { writeBertFolder } from '../support/bert-fixture.js';
import { writeMlConfig } from '../support/ml-config.js';
import { faultTestEnv, freePort, startProcess, startWorker as startWorkerProcess, type ServiceProcess } from '../support/processes.js';
import { rabbitCluster, type RabbitCluster } from '../support/rabbitmq-cluster.js';
import { canStartRabbitNode } from '../support/rabbitmq-node.js';
import { canStartRedis, redisSentinel, SENTINEL_NAME, type SentinelSetUp } from '../support/redis-sentinel.js';
import { mapLimited, waitFor } from '../support/wait.js';

/*
 * No single point of failure, shown by losing nodes under load. The
 * deployment as it runs (an API and two workers, as processes) on servers of
 * this test's own, never the machine's: a three-node RabbitMQ cluster with
 * quorum queues, and Redis as a primary, a replica and three sentinels, with
 * REDIS_WAIT_REPLICAS=1. While clients submit tasks at a bounded rate and ask
 * on the sync route, the node leading the model's queue is killed with
 * SIGKILL, then the Redis primary is. Each lost node is brought back as an
 * orchestrator would, and the next fault waits for it.
 *
 * Counted: tasks lost (accepted with 202, then missing or never succeeded:
 * must be 0), stuck (not ended a minute after the load stops: must be 0),
 * run more than once (at-least-once delivery allows it; reported), and the
 * time from each kill until a submission is accepted again. The only 5xx
 * allowed is a 503 with Retry-After.
 *
 * `npm run test:ha` runs it (HA_ROUNDS rounds, default 1); `npm run chaos`
 * runs it after the single-node chaos test.
 */

const ROUNDS = Number(process.env.HA_ROUNDS ?? 1);
/** What a client may wait, from a node's loss, until submissions are accepted again: the sentinels' 1 s down-after, their election, and the replica's return. */
const RECOVERY_MS = 30_000;
const textsOf = (text: string) => Array.from({ length: 4 }, (_, i) => `${text}, sentence ${i}`);

interface Answer {
  readonly kind: 'submit' | 'sync';
  readonly status: number;
  readonly retryAfter: string | null;
  readonly id?: string;
  readonly text: string;
  readonly body?: string;
}

describe.skipIf(!canStartRabbitNode() || !canStartRedis())('no single point of failure: RabbitMQ and Redis nodes killed under load', () => {
  const namespace = `ha-${randomUUID().slice(0, 8)}`;
  let dir: string;
  let cluster: RabbitCluster;
  let sentinel: SentinelSetUp;
  let reference: OnnxEmbeddingModel;
  let apiPort: number;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ha-'));
    [cluster, sentinel] = await Promise.all([rabbitCluster(3).then((c) => c!), redisSentinel(1)]);
    const bert = await writeBertFolder(join(dir, 'bert'), { seed: 5 });
    const mlConfig = await writeMlConfig(join(dir, 'ml_config.yaml'), 'bert', [{ id: 'bert', engine: 'onnx', path: bert }]);
    reference = await OnnxEmbeddingModel.load({ id: 'bert', path: bert, intraOpThreads: 1 });
    apiPort = await freePort();
    const env = {
      ...faultTestEnv({ mlConfig, namespace, apiPort }),
      AMQP_URL: cluster.url,
      QUEUE_TYPE: 'quorum',
      REDIS_SENTINELS: sentinel.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: SENTINEL_NAME,
      REDIS_WAIT_REPLICAS: '1',
    };
    const api = startProcess(['--mode', 'api'], env);
    processes.push(api);
    await api.ready(apiPort);
    await startWorkerProcess(env, processes);
    await startWorkerProcess(env, processes);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await reference?.close();
    await Promise.all([cluster?.remove(), sentinel?.stop()]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  const base = () => `http://127.0.0.1:${apiPort}`;
  const send = async (kind: Answer['kind'], path: string, text: string, body: unknown): Promise<Answer> => {
    try {
      const response = await fetch(`${base()}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = await response.text();
      const expected = kind === 'submit' ? 202 : 200;
      const id = response.status === 202 ? (JSON.parse(answer) as { id: string }).id : undefined;
      return { kind, status: response.status, retryAfter: response.headers.get('retry-after'), text, ...(id && { id }), ...(response.status !== expected && { body: answer.slice(0, 300) }) };
    } catch (error) {
      return { kind, status: 0, retryAfter: null, text: String(error) };
    }
  };
  const submit = (text: string) => send('submit', '/v1/embeddings/tasks', text, { input: textsOf(text) });
  const read = async (id: string) => {
    const response = await fetch(`${base()}/v1/embeddings/tasks/${id}`);
    return response.status === 200
      ? ((await response.json()) as { status: string; attempts: number; error: string | null; result: { data: { embedding: number[] }[] } | null })
      : undefined;
  };

  /** From a kill until a submission is accepted again. */
  const recovery = async (killedAt: number): Promise<number> => {
    let last: Answer | undefined;
    await waitFor(async () => (last = await submit(`probe ${randomUUID()}`)).status === 202, RECOVERY_MS, 'submissions to be accepted again').catch((error: unknown) => {
      throw new Error(`${String(error)}; the last answer: ${last?.status} ${last?.body}\n${processes.map((p) => p.output().slice(-3000)).join('\n---\n')}`);
    });
    return performance.now() - killedAt;
  };

  it('loses no accepted task and answers honestly while a broker node and the Redis primary are killed', async () => {
    const answers: Answer[] = [];
    let load = true;
    let sent = 0;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Bounded load: four clients submitting a task every 50 ms each, and one on the sync route every 100 ms.
    const clients = [
      ...Array.from({ length: 4 }, async (_, c) => {
        while (load) {
          answers.push(await submit(`client ${c} text ${sent++}`));
          await pause(50);
        }
      }),
      (async () => {
        while (load) {
          answers.push(await send('sync', '/v1/embeddings', 'sync', { input: `sync text ${sent++}` }));
          await pause(100);
        }
      })(),
    ];
    const queue = `${namespace}.embeddings.bert`;
    const recoveries: Record<string, number[]> = { 'RabbitMQ queue leader killed': [], 'Redis primary killed': [] };
    const leaders: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      await pause(3_000);
      const leader = await cluster.leaderOf(queue);
      leaders.push(leader.node);
      let killedAt = performance.now();
      await leader.kill();
      recoveries['RabbitMQ queue leader killed']!.push(await recovery(killedAt));
      // Back as an orchestrator brings it: its queue members catch up from the others.
      await leader.start();

      await pause(3_000);
      const primary = await sentinel.primaryPort();
      const victim = sentinel.nodes.find((n) => n.port === primary)!;
      killedAt = performance.now();
      victim.kill();
      await waitFor(async () => (await sentinel.primaryPort()) !== primary, 20_000, 'the sentinels to promote the replica');
      await victim.restart(await sentinel.primaryPort());
      recoveries['Redis primary killed']!.push(await recovery(killedAt));
    }
    await pause(2_000);
    load = false;
    await Promise.all(clients);

    const unexpected = answers.filter((a) => a.status !== (a.kind === 'submit' ? 202 : 200) && !(a.status === 503 && a.retryAfter !== null));
    expect(unexpected.map((a) => `${a.kind}: ${a.status} ${a.text} ${a.body}`)).toEqual([]);

    const accepted = answers.filter((a) => a.id !== undefined);
    expect(accepted.length).toBeGreaterThan(100);
    const FINAL = ['succeeded', 'failed', 'cancelled', 'expired'];
    const ended = async () => (await mapLimited(accepted, 32, (a) => read(a.id!))).filter((t) => t && FINAL.includes(t.status)).length;
    await waitFor(async () => (await ended()) === accepted.length, 60_000, 'every accepted task to end').catch(() => undefined);
    // 32 at a time: all at once, hundreds of reads would outlast the store's deadline and get 503s.
    const records = await mapLimited(accepted, 32, async (a) => ({ answer: a, task: await read(a.id!) }));
    const lost = records.filter(({ task }) => !task || (FINAL.includes(task.status) && task.status !== 'succeeded'));
    const stuck = records.filter(({ task }) => task && !FINAL.includes(task.status));
    const runTwice = records.filter(({ task }) => task && task.attempts > 1).length;
    for (const { answer, task } of records.filter(({ task }) => task?.status === 'succeeded').slice(0, 50)) {
      const { vectors } = await reference.embed(textsOf(answer.text));
      task!.result!.data.forEach((d, i) => expect(d.embedding.reduce((sum, x, j) => sum + x * vectors[i]![j]!, 0)).toBeGreaterThan(0.9999));
    }
    const figures = {
      rounds: ROUNDS,
      leadersKilled: leaders,
      accepted: accepted.length,
      lost: lost.length,
      stuck: stuck.length,
      runMoreThanOnce: runTwice,
      refusedWith503: answers.filter((a) => a.status === 503).length,
      syncAnswered: answers.filter((a) => a.kind === 'sync' && a.status === 200).length,
      recoveryMs: Object.fromEntries(Object.entries(recoveries).map(([fault, times]) => [fault, times.map(Math.round)])),
    };
    console.log(`ha figures: ${JSON.stringify(figures)}`);
    expect(lost.map(({ answer, task }) => `${answer.id}: ${task ? `${task.status} after ${task.attempts} attempts: ${task.error}` : 'missing'}`)).toEqual([]);
    expect(stuck.map(({ answer, task }) => `${answer.id}: ${task!.status}`)).toEqual([]);
    for (const times of Object.values(recoveries)) for (const ms of times) expect(ms).toBeLessThan(RECOVERY_MS);
  }, 600_000);
});
