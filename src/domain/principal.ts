import type { RateLimits } from './rate-limits.js';

/** Who is calling: the owner of an API key. */
export interface Principal {
  /** The key's name (its owner), never the key itself: safe to log, and what a task records as its owner. */
  readonly name: string;
  /** An admin sees every task, not only its own. */
  readonly admin: boolean;
  /** This key's limits, when it has its own; absent, the service's defaults apply. */
  readonly limits?: RateLimits;
}

/**
 * Whether `principal` may see or act on a task owned by `owner`. An open
 * service (no principal) lets everyone see everything; a key sees its own
 * tasks, an admin key every task. A task created while the service was open
 * has no owner, and only admins see it once keys are configured.
 */
export function maySee(principal: Principal | undefined, owner: string | undefined): boolean {
  return principal === undefined || principal.admin || principal.name === owner;
}

/**
 * `record` when `caller` may see it; else, and when there is none, the
 * not-found error `missing` makes: another key's record is answered as
 * absent, so that ids reveal nothing.
 */
export function visibleTo<T extends { readonly owner?: string }>(caller: Principal | undefined, record: T | undefined, missing: () => Error): T {
  if (!record || !maySee(caller, record.owner)) throw missing();
  return record;
}
