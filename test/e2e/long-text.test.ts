import { longTextBehaviour } from '../contracts/long-text.behaviour.js';
import { startTestService } from '../support/service.js';

longTextBehaviour('in memory', () => startTestService({ listen: true, withStrictCopy: true, env: { MAX_TEXT_TOKENS: '200' } }));
