import { Hono } from 'hono';
import { packageFile, SELF_ONLY_POLICY } from './assets.js';
import type { HttpEnv } from './types.js';

/*
 * Swagger UI, served whole by the service from the pinned swagger-ui-dist
 * package: the page works on a machine with no internet, and its
 * Content-Security-Policy lets it load nothing from anywhere else.
 */

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

export function docsRoutes(): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get('/docs', (c) => c.html(PAGE, 200, { 'content-security-policy': SELF_ONLY_POLICY }));
  app.get('/docs/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  for (const [name, type] of Object.entries(ASSETS)) app.get(`/docs/${name}`, packageFile(`swagger-ui-dist/${name}`, type));
  return app;
}
