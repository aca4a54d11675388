import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { requireApiKey, requireMetricsToken } from './middleware/access.js';
import { consoleRoutes } from './console/routes.js';
import { docsRoutes } from './docs.js';
import { EMBEDDINGS_ENDPOINT, TASKS_ENDPOINT } from '../../domain/index.js';
import { limitBody } from './middleware/body-limit.js';
import { traceRequests } from './middleware/tracing.js';
import { bodyGuard } from './middleware/body-guard.js';
import { requireConsoleAccess } from './console/access.js';
import { errorResponse } from './problem.js';
import { API_KEY_SCHEME, CONSOLE_SCHEME } from './wire/common.js';
import { problems } from './wire/errors.js';
import { schemaError } from './validation.js';
import { enforceRateLimits } from './middleware/rate-limits.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { batchRoutes } from './routes/batches.js';
import { fileRoutes } from './routes/files.js';
import { openAiRoutes } from './routes/openai.js';
import { cohereEmbedRoutes } from './routes/cohere-embed.js';
import { rerankRoutes } from './routes/rerank.js';
import { taskRoutes } from './routes/tasks.js';
import { teiRoutes } from './routes/tei.js';
import { readsTeiInputs } from './routes/tei-bases.js';
import type { ErrorDialect, HttpEnv, HttpObservers, HttpOptions, HttpUseCases } from './types.js';

export type { HttpEnv, HttpObservers, HttpOptions, HttpUseCases };

/** Routes that belong together, and the error shape their clients expect. */
interface RouteGroup {
  readonly routes: OpenAPIHono<HttpEnv>;
  readonly errors: ErrorDialect;
}

export function createHttpApp(useCases: HttpUseCases, options: HttpOptions, observers: HttpObservers): OpenAPIHono<HttpEnv> {
  const app = new OpenAPIHono<HttpEnv>({
    // A body that parses but breaks the schema: 422 naming each bad field.
    defaultHook: (result) => {
      if (!result.success) {
        throw schemaError(result.error.issues);
      }
    },
  });
  instrument(app, observers);

  /**
   * What keys and rate limits guard: OpenAI's and Jina's routes (/v1), Cohere's
   * (/v2), and TEI's, under /tei and at the root beside the open health and docs.
   */
  const API_PATHS = ['/v1/*', '/v2/*', '/tei/*', '/', ...['embed', 'rerank', 'similarity', 'tokenize', 'decode', 'info'].map((route) => `/${route}`)];
  // The routes OpenAI's clients call answer errors in OpenAI's shape, with the same statuses.
  const groups: readonly RouteGroup[] = [
    { routes: taskRoutes(useCases), errors: 'problem' },
    { routes: openAiRoutes(useCases), errors: 'openai' },
    { routes: rerankRoutes(useCases, 'openai'), errors: 'openai' },
    { routes: rerankRoutes(useCases, 'cohere'), errors: 'cohere' },
    { routes: cohereEmbedRoutes(useCases), errors: 'cohere' },
    { routes: teiRoutes(useCases, { ...options.tei, version: options.version }, options.defaultModelId), errors: 'tei' },
    { routes: modelRoutes(useCases, options.defaultModelId), errors: 'openai' },
    { routes: fileRoutes(useCases), errors: 'openai' },
    { routes: batchRoutes(useCases), errors: 'openai' },
    { routes: healthRoutes(useCases), errors: 'problem' },
  ];
  // Before every other middleware, so that an error anywhere on the way is answered in the group's shape.
  for (const group of groups) {
    if (group.errors === 'problem') continue;
    for (const path of new Set(group.routes.routes.map((r) => r.path))) {
      app.use(path, async (c, next) => {
        c.set('errorDialect', group.errors);
        await next();
      });
    }
  }
  if (options.corsOrigins.length > 0) {
    // Before the key check: a browser's preflight carries no key, and is answered here (204).
    app.use(
      '*',
      cors({
        origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        // Cache-Control: a browser may opt out of the embedding cache as any client does.
        allowHeaders: ['Authorization', 'Content-Type', 'X-Api-Key', 'X-Request-Id', 'Cache-Control'],
        exposeHeaders: [
          'Location',
          'Retry-After',
          'X-Request-Id',
          'X-Embedding-Cache-Hits',
          ...['requests', 'tokens'].flatMap((kind) => ['limit', 'remaining', 'reset'].map((figure) => `X-RateLimit-${figure}-${kind}`)),
        ],
        maxAge: 600,
      }),
    );
  }
  // Before any body is read: a caller without a key, or without console access, costs nothing more.
  for (const path of API_PATHS) app.use(path, requireApiKey(options.keys));
  const consoleAccess = requireConsoleAccess({ ...options.console, keys: options.keys });
  app.use('/console', consoleAccess);
  app.use('/console/*', consoleAccess);
  // Before the body is read: a caller past its allowance costs nothing more either.
  for (const path of API_PATHS) app.use(path, ...enforceRateLimits(useCases.rateLimits));
  // Every body, on every route (those added later included): its size, then its shape.
  app.use('*', limitBody(options.bodyLimitBytes));
  app.use('*', bodyGuard(options.limits, (path) => (path === EMBEDDINGS_ENDPOINT || path === TASKS_ENDPOINT ? 'input' : readsTeiInputs(path) ? 'inputs' : undefined)));
  for (const group of groups) app.route('/', group.routes);

  // Swagger UI's "Authorize" takes the key; /v1 routes declare they need it.
  app.openAPIRegistry.registerComponent('securitySchemes', API_KEY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key, when the service has keys (API_KEYS, API_KEYS_FILE); also accepted as x-api-key.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', CONSOLE_SCHEME, {
    type: 'http',
    scheme: 'basic',
    description: 'The console’s credentials (CONSOLE_USER, CONSOLE_PASSWORD); an admin API key also opens it.',
  });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Embedding service',
      version: options.version,
      description: 'Turns text into vectors with sentence-embedding models, through per-model queues.',
    },
  });
  app.route('/', docsRoutes());
  consoleRoutes(app, useCases, observers.lifecycle?.stopping);

  answerErrors(app, observers);
  return app;
}

/** Liveness, readiness and metrics alone, for processes that serve no API (workers). */
export function createHealthApp(checkReadiness: HttpUseCases['checkReadiness'], observers: HttpObservers): OpenAPIHono<HttpEnv> {
  const app = new OpenAPIHono<HttpEnv>();
  instrument(app, observers);
  app.route('/', healthRoutes({ checkReadiness }));
  answerErrors(app, observers);
  return app;
}

/**
 * What every app of this service does: keep or make the request id (an
 * incoming x-request-id is kept when sane, and echoed), count and time the
 * request, write one access log line with the request id (and the task and
 * model, when a handler set them), give it its store time, and serve /metrics.
 */
function instrument(app: OpenAPIHono<HttpEnv>, { logger, metrics, exposition, metricsToken, lifecycle, storeTime, tracing }: HttpObservers): void {
  app.use(requestId({ limitLength: 128 }));
  // Around the access log, so that its line carries the request's trace.
  if (tracing) app.use(traceRequests(tracing));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const seconds = (performance.now() - started) / 1000;
    // routePath is the matched pattern (`/v1/embeddings/tasks/:id`), so ids do not explode the label set.
    metrics.httpRequest(c.req.routePath, c.req.method, c.res.status, seconds);
    const quiet = c.req.path.startsWith('/health/') || c.req.path === '/metrics';
    logger[quiet ? 'debug' : 'info']('request', {
      requestId: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(seconds * 10_000) / 10,
      ...(c.get('taskId') && { taskId: c.get('taskId') }),
      ...(c.get('model') && { model: c.get('model') }),
      ...(c.get('principal') && { key: c.get('principal')!.name }),
    });
  });
  if (lifecycle) app.use(lifecycle.middleware);
  if (storeTime) app.use((_c, next) => storeTime.budget.allot(storeTime.ms, next));
  if (exposition) {
    app.openapi(metricsRoute(metricsToken), async (c) => {
      const { contentType, body } = await exposition.render();
      return c.text(body, 200, { 'content-type': contentType });
    });
  }
}

const metricsRoute = (token: string | undefined) =>
  createRoute({
    method: 'get',
    path: '/metrics',
    middleware: [requireMetricsToken(token)],
    tags: ['Health'],
    summary: 'Prometheus metrics of this process',
    description: 'Needs METRICS_TOKEN as a bearer token when one is set.',
    responses: {
      200: { description: 'The text exposition format', content: { 'text/plain': { schema: z.string() } } },
      ...problems(401),
    },
  });

function answerErrors(app: OpenAPIHono<HttpEnv>, { logger }: HttpObservers): void {
  app.notFound((c) => errorResponse(c, new HTTPException(404, { message: `No route for ${c.req.method} ${c.req.path}.` }), logger));
  app.onError((error, c) => errorResponse(c, error, logger));
}
