import type { Principal } from '../domain/index.js';

/**
 * The API keys that may call the service.
 *
 * Guarantees: `identify` takes the same time whichever key matches, or none
 * (keys are compared in constant time), and keeps no plain key it was not
 * given; an empty ring means the service is open.
 */
export interface KeyRing {
  /** True when no key is configured: every caller is let in. */
  readonly open: boolean;
  /** The owner of `presented`, or undefined when it is no key of the ring. */
  identify(presented: string): Principal | undefined;
}
