import { afterAll } from 'vitest';
import { rerankApiBehaviour } from '../contracts/rerank-api.behaviour.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { testNamespace } from '../support/namespace.js';
import { startTestService } from '../support/service.js';

/* The same reranking as on the in-memory adapters, with rerank tasks travelling through RabbitMQ and Redis. */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());
const namespace = testNamespace('rerank');
afterAll(async () => {
  if (amqp && store) await namespace.cleanUp({ amqpUrl: amqp.url, redisUrl: store.url });
  await amqp?.stop();
  await store?.stop();
});

rerankApiBehaviour(
  'RabbitMQ and Redis',
  () =>
    startTestService({
      withReranker: true,
      listen: true,
      env: {
        MAX_DOCUMENTS: '5',
        QUEUE_DRIVER: 'rabbitmq',
        STORE_DRIVER: 'redis',
        AMQP_URL: amqp!.url,
        REDIS_URL: store!.url,
        REDIS_KEY_PREFIX: namespace.keyPrefix,
      },
      queueName: namespace.queue,
    }),
  { skip: !amqp || !store },
);
