import { longTextBehaviour } from '../contracts/long-text.behaviour.js';
import { brokerAndStore } from '../support/infra.js';
import { startTestService } from '../support/service.js';

/* The same long texts as on the in-memory adapters, their windows and chunks travelling through RabbitMQ and Redis. */

const servers = await brokerAndStore('long-text');

longTextBehaviour(
  'RabbitMQ and Redis',
  () => startTestService({ listen: true, withStrictCopy: true, env: { MAX_TEXT_TOKENS: '200', ...servers!.env }, queueName: servers!.namespace.queue }),
  { skip: !servers },
);
