import type { Clock } from '../../ports/clock.js';
import type { IdGenerator } from '../../ports/id-generator.js';

export const systemClock: Clock = { now: () => new Date() };

/** Random v4 UUIDs: 122 random bits, so ids cannot be guessed to read another client's task. */
export const uuidGenerator: IdGenerator = { next: () => globalThis.crypto.randomUUID() };
