import { rerankApiBehaviour } from '../contracts/rerank-api.behaviour.js';
import { startTestService } from '../support/service.js';

rerankApiBehaviour('in memory', () => startTestService({ withReranker: true, listen: true, env: { MAX_DOCUMENTS: '5' } }));
