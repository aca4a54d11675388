import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface BulkRequest {
  readonly path: string;
  readonly contentType: string | undefined;
  /** The NDJSON body, one parsed object per line. */
  readonly lines: Record<string, unknown>[];
}

export interface FakeElasticsearch {
  readonly url: string;
  readonly bulks: BulkRequest[];
  readonly templates: { path: string; body: Record<string, unknown> }[];
  /** Hold every answer this long (a slow cluster). */
  delayMs: number;
  close(): Promise<void>;
}

/**
 * A local HTTP server that answers like Elasticsearch 8 for what log shipping
 * does: the product check (the official client refuses a server without
 * `x-elastic-product: Elasticsearch`), index templates, and `_bulk`, whose
 * NDJSON bodies it records for tests to read.
 */
export async function startFakeElasticsearch(): Promise<FakeElasticsearch> {
  const bulks: BulkRequest[] = [];
  const templates: FakeElasticsearch['templates'] = [];
  const state = { delayMs: 0 };
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
    const headers = { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' };
    const path = new URL(request.url ?? '/', 'http://es').pathname;
    if (path.endsWith('/_bulk')) {
      const lines = body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      bulks.push({ path, contentType: request.headers['content-type'], lines });
      const items = lines.filter((_, i) => i % 2 === 0).map(() => ({ create: { status: 201, result: 'created' } }));
      response.writeHead(200, headers).end(JSON.stringify({ took: 1, errors: false, items }));
      return;
    }
    if (path.startsWith('/_index_template/')) {
      templates.push({ path, body: JSON.parse(body) as Record<string, unknown> });
      response.writeHead(200, headers).end('{"acknowledged":true}');
      return;
    }
    response.writeHead(200, headers).end(JSON.stringify({ name: 'fake', version: { number: '8.15.0' }, tagline: 'You Know, for Search' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bulks,
    templates,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
