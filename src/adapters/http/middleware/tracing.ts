import type { MiddlewareHandler } from 'hono';
import type { Tracing } from '../../../ports/tracing.js';
import type { HttpEnv } from '../types.js';

/**
 * A server span per request, after OpenTelemetry's HTTP semantic
 * conventions: named by the method and the route template (never the raw
 * path, whose ids would make every name unique), continuing the caller's
 * trace when it sends `traceparent`. A 5xx fails the span; a 4xx is the
 * caller's error, not this service's, and does not.
 *
 * Everything the request does runs in its span: the spans of the queue,
 * the store and the worker, and every log line written meanwhile (the
 * access log's included), belong to it.
 */
export function traceRequests(tracing: Tracing): MiddlewareHandler<HttpEnv> {
  return (c, next) => {
    const { hostname, port, protocol } = new URL(c.req.url);
    return tracing.inSpan(
      c.req.method,
      {
        kind: 'server',
        parent: c.req.header(),
        attributes: {
          'http.request.method': c.req.method,
          'url.path': c.req.path,
          'url.scheme': protocol.replace(':', ''),
          'server.address': hostname,
          'server.port': port ? Number(port) : undefined,
          'user_agent.original': c.req.header('user-agent'),
        },
      },
      async (span) => {
        await next();
        const route = c.req.routePath;
        // Unmatched (a 404), the last handler is a middleware's wildcard: no route to name.
        const matched = !route.includes('*');
        span.rename(matched ? `${c.req.method} ${route}` : c.req.method);
        span.setAttributes({
          'http.response.status_code': c.res.status,
          'http.route': matched ? route : undefined,
          'gen_ai.request.model': c.get('model'),
          'embedding_service.task_id': c.get('taskId'),
          'embedding_service.request_id': c.get('requestId'),
        });
        if (c.res.status >= 500) span.fail(c.error ?? new Error(`answered ${c.res.status}`));
      },
    );
  };
}
