import { RateLimiterMemory } from 'rate-limiter-flexible';
import { FixedWindowLimiter } from '../shared/fixed-window-limiter.js';

/** Allowances held in this process (the embedded mode's), in windows of `windowSeconds`. */
export class MemoryRateLimiter extends FixedWindowLimiter {
  constructor(windowSeconds = 60) {
    super((limit) => new RateLimiterMemory({ points: limit, duration: windowSeconds }), windowSeconds * 1000);
  }
}
