import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { HttpEnv } from './types.js';

/*
 * Swagger UI, served whole by the service from the pinned swagger-ui-dist
 * package: the page works on a machine with no internet, and its
 * Content-Security-Policy lets it load nothing from anywhere else.
 */

const require = createRequire(import.meta.url);

/** The files the page needs, and their types: nothing else of the package is served. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Embedding service API</title>
  <link rel="icon" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  persistAuthorization: true,
});
`;

/** Inline styles are Swagger UI's own (it sets style attributes); scripts come from here only. */
const POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'";

export function docsRoutes(): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const folder = dirname(require.resolve('swagger-ui-dist/package.json'));
  // Read on first use, then kept: about 1.5 MB, in API processes that serve the page only.
  const cache = new Map<string, Promise<Buffer>>();
  const asset = (name: string) => {
    if (!cache.has(name)) cache.set(name, readFile(join(folder, name)));
    return cache.get(name)!;
  };

  app.get('/docs', (c) => c.html(PAGE, 200, { 'content-security-policy': POLICY }));
  app.get('/docs/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/docs/:file', async (c) => {
    const type = ASSETS[c.req.param('file')];
    if (!type) return c.notFound();
    const body = await asset(c.req.param('file'));
    return c.body(new Uint8Array(body), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' });
  });
  return app;
}
