import { embeddingCacheBehaviour } from '../contracts/embedding-cache.behaviour.js';
import { startTestService } from '../support/service.js';

embeddingCacheBehaviour('in memory', () => startTestService({ listen: true, env: { EMBEDDING_CACHE: 'memory' } }));
