import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../domain/index.js';
import type { KeyRing } from '../../ports/key-ring.js';

/** A key as configured: its owner, and the sha256 of the key (hex), never the key itself. */
export interface KeyEntry extends Principal {
  readonly sha256: string;
}

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * The configured keys, held as sha256 digests. A presented key is hashed and
 * compared with every digest, in constant time, so neither the comparison
 * nor which key matched can be timed.
 */
export class MemoryKeyRing implements KeyRing {
  private readonly digests: readonly { readonly principal: Principal; readonly digest: Buffer }[];

  constructor(entries: readonly KeyEntry[]) {
    this.digests = entries.map(({ sha256, ...principal }) => ({ principal, digest: Buffer.from(sha256, 'hex') }));
  }

  get open(): boolean {
    return this.digests.length === 0;
  }

  identify(presented: string): Principal | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: Principal | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest) && !found) found = entry.principal;
    }
    return found;
  }
}
