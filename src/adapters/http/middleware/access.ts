import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { InvalidApiKeyError } from '../../../domain/index.js';
import type { KeyRing } from '../../../ports/key-ring.js';
import type { HttpEnv } from '../types.js';

/**
 * The caller's API key, as OpenAI's SDKs send it (`Authorization: Bearer
 * <key>`) or as many other clients do (`x-api-key`).
 */
export function presentedKey(authorization: string | undefined, apiKey: string | undefined): string | undefined {
  const bearer = authorization && /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  return bearer || apiKey?.trim() || undefined;
}

/**
 * Lets in callers with a key of the ring, and records who they are
 * (`principal`); refuses the others with 401. With no key configured, the
 * service is open and everyone is let in, unnamed.
 */
export function requireApiKey(keys: KeyRing): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (!keys.open) {
      const presented = presentedKey(c.req.header('authorization'), c.req.header('x-api-key'));
      const principal = presented === undefined ? undefined : keys.identify(presented);
      if (!principal) {
        throw new InvalidApiKeyError(
          presented === undefined
            ? 'This service needs an API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".'
            : 'The API key is not valid.',
        );
      }
      c.set('principal', principal);
    }
    await next();
  };
}

/**
 * Whether a presented secret is the expected one, in time that depends on
 * neither: both are hashed to the same length first, so that not even the
 * secret's length leaks.
 */
export function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Guards /metrics with its own bearer token, when one is configured. */
export function requireMetricsToken(token: string | undefined): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    if (token && !sameSecret(presentedKey(c.req.header('authorization'), undefined) ?? '', token)) {
      throw new InvalidApiKeyError('GET /metrics needs the metrics token as "Authorization: Bearer <token>".');
    }
    await next();
  };
}
