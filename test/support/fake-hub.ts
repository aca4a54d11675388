import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join, relative } from 'node:path';

export interface FakeHub {
  readonly url: string;
  /** Every request received: method, path, and the headers tests look at. */
  readonly requests: { path: string; range?: string; authorization?: string }[];
  /** Serve this path's bytes altered (a corrupt download). */
  corrupt(path: string): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server that answers like the Hugging Face hub's file API for
 * one repository whose files are those of `dir`: the recursive tree listing
 * (with git blob ids, and LFS sha256 for *.onnx files), and `resolve`
 * downloads with Range support. With `token`, it refuses requests without it.
 */
export async function startFakeHub(repo: string, dir: string, options: { token?: string } = {}): Promise<FakeHub> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    files.set(relative(dir, full), await readFile(full));
  }
  const corrupted = new Set<string>();
  const requests: FakeHub['requests'] = [];

  const tree = () =>
    [...files].map(([path, content]) => {
      const gitOid = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
      const lfs = path.endsWith('.onnx')
        ? { lfs: { oid: createHash('sha256').update(content).digest('hex'), size: content.length, pointerSize: 134 } }
        : {};
      return { type: 'file', path, size: path.endsWith('.onnx') ? 134 : content.length, oid: gitOid, ...lfs };
    });

  const server: Server = createServer((request: IncomingMessage, response) => {
    const url = new URL(request.url ?? '/', 'http://hub');
    requests.push({
      path: url.pathname,
      ...(request.headers.range && { range: request.headers.range }),
      ...(request.headers.authorization && { authorization: request.headers.authorization }),
    });
    if (options.token && request.headers.authorization !== `Bearer ${options.token}`) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"Invalid credentials"}');
      return;
    }
    if (url.pathname === `/api/models/${repo}/tree/main`) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(tree()));
      return;
    }
    const prefix = `/${repo}/resolve/main/`;
    const path = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : undefined;
    let content = path === undefined ? undefined : files.get(path);
    if (!content) {
      response.writeHead(404).end('Entry not found');
      return;
    }
    if (corrupted.has(path!)) content = Buffer.concat([content.subarray(0, content.length - 1), Buffer.from([content.at(-1)! ^ 0xff])]);
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      response
        .writeHead(206, { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}`, 'content-length': content.length - start })
        .end(content.subarray(start));
      return;
    }
    response.writeHead(200, { 'content-length': content.length }).end(content);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    corrupt: (path) => corrupted.add(path),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
