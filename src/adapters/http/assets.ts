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

/**
 * Serves one file of an installed, pinned package (`swagger-ui-dist/…`),
 * read on its first request and kept: nothing is fetched from a CDN, and a
 * process that never serves the page never reads it.
 */
export function packageFile(specifier: string, contentType: string): Handler<HttpEnv> {
  let content: Promise<Buffer> | undefined;
  return async (c) => {
    content ??= readFile(require.resolve(specifier));
    return c.body(new Uint8Array(await content), 200, { 'content-type': contentType, 'cache-control': 'public, max-age=86400' });
  };
}
