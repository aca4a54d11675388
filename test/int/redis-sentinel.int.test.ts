import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisTaskStore } from '../../src/adapters/redis/redis-task-store.js';
import { newTask, ServiceUnavailableError } from '../../src/domain/index.js';
import { canStartRedis, redisSentinel, SENTINEL_NAME, type SentinelSetUp } from '../support/redis-sentinel.js';
import { waitFor } from '../support/wait.js';

/*
 * Redis under Sentinel, of this test's own (a primary, a replica, three
 * sentinels; never the machine's Redis): the primary is killed with SIGKILL
 * while tasks are being created, the sentinels promote the replica, and
 * the lost node is brought back, as an orchestrator would, as a replica.
 * With REDIS_WAIT_REPLICAS=1 a creation is acknowledged only once the
 * replica has it, so no acknowledged task may be missing afterwards; those
 * refused meanwhile got a 503 (ServiceUnavailableError), which a client
 * retries.
 */

describe.skipIf(!canStartRedis())('Redis under Sentinel: the primary killed while tasks are created', () => {
  let setUp: SentinelSetUp;

  beforeAll(async () => {
    setUp = await redisSentinel(1);
  }, 60_000);
  afterAll(async () => {
    await setUp?.stop();
  });

  it('follows the promoted replica, and loses no task whose creation was acknowledged', async () => {
    const store = new RedisTaskStore({
      sentinel: { sentinels: setUp.sentinels, name: SENTINEL_NAME },
      keyPrefix: `sentinel-${randomUUID().slice(0, 8)}:`,
      ttlSeconds: 600,
      commandTimeoutMs: 500,
      waitReplicas: 1,
    });
    const acknowledged: string[] = [];
    const refused: { at: number; error: unknown }[] = [];
    let writing = true;
    const create = async () => {
      const task = newTask({ id: randomUUID(), model: 'm', inputs: ['a text'], priority: 0, now: new Date() });
      try {
        await store.create(task);
        acknowledged.push(task.id);
      } catch (error) {
        refused.push({ at: performance.now(), error });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const writers = Array.from({ length: 4 }, async () => {
      while (writing) await create();
    });
    try {
      await waitFor(() => acknowledged.length >= 50, 10_000, 'tasks created before the fault');
      const before = await setUp.primaryPort();
      const victim = setUp.nodes.find((n) => n.port === before)!;
      const killedAt = performance.now();
      const acknowledgedAtKill = acknowledged.length;
      victim.kill();

      // The sentinels promote the replica; with no replica left, every creation is refused (503), not lost.
      await waitFor(async () => (await setUp.primaryPort()) !== before, 20_000, 'the sentinels to promote the replica');
      const promoted = await setUp.primaryPort();
      await victim.restart(promoted);
      await waitFor(() => acknowledged.length >= acknowledgedAtKill + 50, 30_000, 'creations acknowledged again');
      const recoveredMs = performance.now() - killedAt;
      writing = false;
      await Promise.all(writers);

      // Every acknowledged task is on the new primary; nothing refused was other than a 503.
      const missing = (await Promise.all(acknowledged.map(async (id) => ((await store.get(id)) ? undefined : id)))).filter((id) => id !== undefined);
      expect(missing).toEqual([]);
      expect(refused.filter((r) => !(r.error instanceof ServiceUnavailableError)).map((r) => String(r.error))).toEqual([]);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      console.log(
        `sentinel failover: ${acknowledged.length} acknowledged (${acknowledgedAtKill} before the kill), 0 lost, ${refused.length} refused with 503, ` +
          `acknowledged again ${Math.round(recoveredMs)} ms after the kill`,
      );
    } finally {
      writing = false;
      await Promise.all(writers);
      await store.close();
    }
  }, 120_000);
});
