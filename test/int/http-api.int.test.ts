import { httpApiBehaviour, HTTP_BEHAVIOUR_LIMITS } from '../contracts/http-api.behaviour.js';
import { brokerAndStore } from '../support/infra.js';
import { startTestService } from '../support/service.js';

/* The same HTTP behaviour as on the in-memory adapters, with tasks travelling through RabbitMQ and Redis. */

const servers = await brokerAndStore('http');

httpApiBehaviour(
  'RabbitMQ and Redis',
  () => startTestService({ env: { ...HTTP_BEHAVIOUR_LIMITS, ...servers!.env }, queueName: servers!.namespace.queue }),
  { skip: !servers },
);
