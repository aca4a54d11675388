import { afterAll } from 'vitest';
import { httpApiBehaviour, HTTP_BEHAVIOUR_LIMITS } from '../contracts/http-api.behaviour.js';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { testNamespace } from '../support/namespace.js';
import { startTestService } from '../support/service.js';

/* The same HTTP behaviour as on the in-memory adapters, with tasks travelling through RabbitMQ and Redis. */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());
const namespace = testNamespace('http');
afterAll(async () => {
  if (amqp && store) await namespace.cleanUp({ amqpUrl: amqp.url, redisUrl: store.url });
  await amqp?.stop();
  await store?.stop();
});

httpApiBehaviour(
  'RabbitMQ and Redis',
  () =>
    startTestService({
      env: {
        ...HTTP_BEHAVIOUR_LIMITS,
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
