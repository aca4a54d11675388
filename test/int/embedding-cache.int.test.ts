import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingCacheBehaviour } from '../contracts/embedding-cache.behaviour.js';
import { brokerAndStore, redis, requireOrSkip } from '../support/infra.js';
import { deleteKeys, testNamespace } from '../support/namespace.js';
import { faultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startTestService, type TestService } from '../support/service.js';

/*
 * The Redis cache: the same behaviour as in memory, with tasks on RabbitMQ
 * and Redis; then what only a shared cache can show: API instances sharing
 * hits, other weights never served a vector of the old ones, and a stalled
 * cache skipped within the command timeout. Those run the embedded mode's
 * queue and store with the cache alone in Redis, so that a fault cut
 * between the cache and Redis touches nothing else.
 */

const servers = await brokerAndStore('cache');

embeddingCacheBehaviour(
  'RabbitMQ and Redis',
  () => startTestService({ listen: true, env: { ...servers!.env }, queueName: servers!.namespace.queue }),
  { skip: !servers },
);

const infra = await requireOrSkip('Redis', await redis());

describe.skipIf(!infra)('the embedding cache in Redis, shared', () => {
  const namespace = testNamespace('shared-cache');
  const started: TestService[] = [];
  const start = async (env: Record<string, string> = {}, seed?: number) => {
    const service = await startTestService({ env: { EMBEDDING_CACHE: 'redis', REDIS_URL: infra!.url, REDIS_KEY_PREFIX: namespace.keyPrefix, ...env }, ...(seed !== undefined && { seed }) });
    started.push(service);
    await service.service.modelsSettled;
    return service;
  };
  const embed = async (service: TestService, input: string, headers: Record<string, string> = {}) => {
    const response = await service.post('/v1/embeddings', { model: 'tiny-bert', input }, headers);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { embedding: number[] }[]; usage: { prompt_tokens: number } };
    return { hits: Number(response.headers.get('x-embedding-cache-hits')), vector: body.data[0]!.embedding, tokens: body.usage.prompt_tokens };
  };
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await deleteKeys(infra!.url, namespace.keyPrefix);
  });

  it('shares hits between two API instances: what one embedded, the other answers without its worker', async () => {
    const [a, b] = [await start(), await start()];
    const first = await embed(a, 'shared between instances');
    const tasks = b.metrics!.counter('tasks_submitted{model=tiny-bert}');
    const second = await embed(b, 'shared between instances');
    expect(second).toEqual({ ...first, hits: 1 });
    expect(b.metrics!.counter('tasks_submitted{model=tiny-bert}')).toBe(tasks);
  });

  it('never serves a model with other weights the vectors of the old ones, though the files have the same names', async () => {
    const old = await start();
    const before = await embed(old, 'the weights changed under me');
    await embed(old, 'the weights changed under me');
    const retrained = await start({}, 7);
    const after = await embed(retrained, 'the weights changed under me');
    expect(after.hits).toBe(0);
    expect(after.vector).not.toEqual(before.vector);
  });

  describe('stalled', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      const { hostname, port } = new URL(infra!.url);
      proxy = await faultProxy({ host: hostname, port: Number(port) });
    });
    afterAll(async () => {
      await proxy.close();
    });

    it('costs a request at most the command timeout, never fails it, counts the failure, and serves hits again once Redis answers', async () => {
      const service = await start({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_COMMAND_TIMEOUT_MS: '300' });
      await embed(service, 'cached before the stall');
      await new Promise((resolve) => setTimeout(resolve, 100));
      proxy.stall();
      for (const text of ['cached before the stall', 'never seen before the stall']) {
        const began = performance.now();
        const answer = await embed(service, text);
        expect(answer.hits).toBe(0);
        expect(performance.now() - began).toBeLessThan(300 + 700);
      }
      expect(service.metrics!.counter('cache_errors{operation=read}')).toBe(2);
      await proxy.resume();
      await expect.poll(async () => (await embed(service, 'cached before the stall')).hits, { timeout: 5_000 }).toBe(1);
    });
  });
});
