import { httpApiBehaviour, HTTP_BEHAVIOUR_LIMITS } from '../contracts/http-api.behaviour.js';
import { startTestService } from '../support/service.js';

httpApiBehaviour('the in-memory queue and store', () => startTestService({ env: { ...HTTP_BEHAVIOUR_LIMITS } }));
