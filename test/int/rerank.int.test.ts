import { rerankApiBehaviour } from '../contracts/rerank-api.behaviour.js';
import { brokerAndStore } from '../support/infra.js';
import { startTestService } from '../support/service.js';

/* The same reranking as on the in-memory adapters, with rerank tasks travelling through RabbitMQ and Redis. */

const servers = await brokerAndStore('rerank');

rerankApiBehaviour(
  'RabbitMQ and Redis',
  () => startTestService({ withReranker: true, listen: true, env: { MAX_DOCUMENTS: '5', ...servers!.env }, queueName: servers!.namespace.queue }),
  { skip: !servers },
);
