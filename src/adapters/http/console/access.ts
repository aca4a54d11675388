import { getConnInfo } from '@hono/node-server/conninfo';
import type { MiddlewareHandler } from 'hono';
import { InvalidApiKeyError, type Principal } from '../../../domain/index.js';
import type { KeyRing } from '../../../ports/key-ring.js';
import { presentedKey, sameSecret } from '../middleware/access.js';
import type { HttpEnv } from '../types.js';

export interface ConsoleAccess {
  /** Basic-auth credentials (CONSOLE_USER / CONSOLE_PASSWORD, or Flower's names); absent: none configured. */
  readonly user?: string;
  readonly password?: string;
  readonly keys: KeyRing;
}

/** Who acts when the console is opened with its own credentials or from this machine: an admin of its own. */
export const CONSOLE_PRINCIPAL: Principal = { name: 'console', admin: true };

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/**
 * Lets in, to the console and its actions: the console's basic-auth
 * credentials, or an admin API key (as a bearer token); with no credentials
 * configured, callers on this machine only. Everyone else gets 401 with a
 * Basic challenge, so that a browser asks for the credentials.
 */
export function requireConsoleAccess(access: ConsoleAccess): MiddlewareHandler<HttpEnv> {
  const credentials = access.user && access.password ? `${access.user}:${access.password}` : undefined;
  return async (c, next) => {
    const authorization = c.req.header('authorization') ?? '';
    const basic = /^Basic\s+(.+)$/i.exec(authorization)?.[1];
    const bearer = presentedKey(authorization, undefined);
    let principal: Principal | undefined;
    if (credentials && basic && sameSecret(Buffer.from(basic, 'base64').toString('utf8'), credentials)) principal = CONSOLE_PRINCIPAL;
    else if (bearer && !access.keys.open) {
      const key = access.keys.identify(bearer);
      if (key?.admin) principal = key;
    } else if (!credentials && isLoopback(c)) principal = CONSOLE_PRINCIPAL;
    if (!principal) {
      c.set('challenge', 'Basic realm="embedding-service console", charset="UTF-8"');
      throw new InvalidApiKeyError(
        credentials
          ? 'The console needs its credentials (CONSOLE_USER / CONSOLE_PASSWORD) or an admin API key.'
          : 'With no console credentials configured, the console answers on this machine only (or to an admin API key).',
      );
    }
    c.set('principal', principal);
    await next();
  };
}

/** Headers a proxy adds: a request that carries one came through a proxy, however local its socket. */
const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'true-client-ip', 'cf-connecting-ip'];

/**
 * Whether the caller is on this machine: its socket is a loopback address,
 * and nothing says it was forwarded. A proxy on this host would otherwise
 * make every remote caller look local, so a forwarding header, whatever it
 * claims, makes the caller remote; it is never believed.
 */
function isLoopback(c: Parameters<MiddlewareHandler<HttpEnv>>[0]): boolean {
  if (FORWARDING_HEADERS.some((name) => c.req.header(name) !== undefined)) return false;
  try {
    return LOOPBACK.test(getConnInfo(c).remote.address ?? '');
  } catch {
    // No socket (app.request() in tests): not known to be local.
    return false;
  }
}
