import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Handler } from 'hono';
import type { HttpEnv } from './types.js';

const require = createRequire(import.meta.url);

/**
 * The Content-Security-Policy of the pages the service serves (/docs,
 * /console): everything from here, nothing from anywhere else. Inline
 * styles are allowed because Swagger UI and uPlot set style attributes.
 */
export const SELF_ONLY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'";

/** Serves the file at `locate()`, read on its first request and kept: a process that never serves it never reads it. */
export function servedFile(locate: () => string | URL, headers: Record<string, string>): Handler<HttpEnv> {
  let content: Promise<Buffer> | undefined;
  return async (c) => {
    content ??= readFile(locate());
    return c.body(new Uint8Array(await content), 200, headers);
  };
}

/** Serves one file of an installed, pinned package (`swagger-ui-dist/…`): nothing is fetched from a CDN. */
export function packageFile(specifier: string, contentType: string): Handler<HttpEnv> {
  return servedFile(() => require.resolve(specifier), { 'content-type': contentType, 'cache-control': 'public, max-age=86400' });
}
