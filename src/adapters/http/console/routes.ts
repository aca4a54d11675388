import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Handler } from 'hono';
import { packageFile, SELF_ONLY_POLICY, servedFile } from '../assets.js';
import type { HttpEnv, HttpUseCases } from '../types.js';
import { consoleApiRoutes } from './api.js';

/** A file of the console's page, under client/ beside this module (`npm run build` copies them beside the compiled one). */
function clientFile(name: string, contentType: string, headers: Record<string, string> = {}): Handler<HttpEnv> {
  return servedFile(() => new URL(`./client/${name}`, import.meta.url), { 'content-type': contentType, ...headers });
}

/**
 * The operator console: its page (plain HTML, CSS and a script, with uPlot
 * from the pinned npm package: no build step, no request leaves the
 * machine) and the JSON API the page calls. Everything under /console needs
 * console access, which the app checks before any of them (`requireConsoleAccess`).
 */
export function consoleRoutes(
  app: OpenAPIHono<HttpEnv>,
  useCases: Pick<HttpUseCases, 'operatorConsole' | 'cancelTask' | 'getTaskStatus' | 'batches'>,
  stopping?: AbortSignal,
): void {
  app.get('/console', clientFile('index.html', 'text/html; charset=utf-8', { 'content-security-policy': SELF_ONLY_POLICY }));
  app.get('/console/console.js', clientFile('console.js', 'text/javascript; charset=utf-8'));
  app.get('/console/console.css', clientFile('console.css', 'text/css; charset=utf-8'));
  app.get('/console/uplot.js', packageFile('uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'));
  app.get('/console/uplot.css', packageFile('uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'));
  app.route('/', consoleApiRoutes(useCases, stopping));
}
