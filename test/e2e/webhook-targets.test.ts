import { lookup } from 'node:dns/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { WebhookTargets } from '../../src/adapters/webhooks/targets.js';
import { StandardWebhookBatchEvents } from '../../src/adapters/webhooks/standard-webhooks.js';
import { newBatch } from '../../src/domain/index.js';
import { LogSink } from '../support/log-sink.js';
import { startTestService, type TestService } from '../support/service.js';

/*
 * A batch's webhook_url is any caller's choice: it must not make the service
 * call into its own network. Every class of non-public address is refused,
 * whatever the URL's spelling, when the batch is created; a name is judged
 * by what it resolves to when the event is sent; a redirect is not followed.
 */

const REFUSED = {
  'link-local (cloud metadata)': 'http://169.254.169.254/latest/meta-data/',
  private: 'http://10.0.0.1/',
  'private, 192.168': 'http://192.168.1.1:8080/hook',
  'shared address space (CGNAT)': 'http://100.64.0.1/',
  loopback: 'http://127.0.0.1:8000/v1/files',
  'loopback by name': 'http://localhost:8000/v1/files',
  'loopback as hex': 'http://0x7f000001:8000/',
  'loopback as octal': 'http://0177.0.0.1/',
  'loopback as one decimal': 'http://2130706433/',
  'IPv6 loopback': 'http://[::1]:8000/',
  'IPv4-mapped IPv6 loopback': 'http://[::ffff:127.0.0.1]/',
  'IPv6 unique-local': 'http://[fd00::1]/',
  'IPv6 link-local': 'http://[fe80::1]/',
  multicast: 'http://224.0.0.1/',
  unspecified: 'http://0.0.0.0:8000/',
  'IPv6 unspecified': 'http://[::]/',
  'not http': 'ftp://example.com/',
  'not a URL': 'hook',
} as const;

// This machine's own name resolves to a loopback address on most hosts: the name passes as written, its address does not.
const ownAddress = await lookup(hostname()).catch(() => undefined);

describe('webhook targets', () => {
  const targets = new WebhookTargets(false);

  it.each(Object.entries(REFUSED))('refuses %s as written', (_kind, url) => {
    expect(targets.refusal(url)).toBeDefined();
  });

  it('lets public addresses and names through (a name is judged when it is called)', () => {
    for (const url of ['https://hooks.example.com/batch', 'http://93.184.216.34/hook', 'http://[2606:4700::1]/', 'http://metadata.google.internal/']) {
      expect(targets.refusal(url), url).toBeUndefined();
    }
  });

  it('lets every address through when the deployment opts in', () => {
    const open = new WebhookTargets(true);
    expect(open.refusal('http://127.0.0.1:8000/hook')).toBeUndefined();
    expect(open.refusal('http://169.254.169.254/')).toBeUndefined();
    expect(open.refusal('ftp://example.com/')).toBeDefined();
  });

  it('resolves a name to its public addresses only, and fails when none is left', async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => targets.lookup('localhost', { all: true }, (e) => resolve(e)));
    expect(error?.code).toBe('EWEBHOOKTARGET');
  });
});

describe('webhook deliveries', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  async function receiver(answer: (res: ServerResponse) => void = (res) => res.writeHead(200).end()) {
    const received: string[] = [];
    const server = createServer((req, res) => {
      received.push(req.url ?? '');
      req.resume();
      req.on('end', () => answer(res));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, received };
  }

  it.skipIf(!ownAddress?.address.startsWith('127.'))('does not connect to a name that resolves to a loopback address', async () => {
    const hook = await receiver();
    const logs = new LogSink();
    const events = new StandardWebhookBatchEvents({ secret: `whsec_${Buffer.alloc(24).toString('base64')}`, retryDelaysMs: [], timeoutMs: 2_000, logger: createPinoLogger({ level: 'debug', destination: logs }) });
    const url = `http://${hostname()}:${hook.port}/hook`;
    expect(events.refusal(url)).toBeUndefined();
    events.notify('batch.completed', newBatch({ endpoint: '/v1/embeddings', id: 'batch_1', inputFileId: 'f', now: new Date(), metadata: { webhook_url: url } }));
    await events.close();
    expect(hook.received).toEqual([]);
    expect(logs.lines.find((l) => l.msg === 'webhook delivery given up')?.reason).toMatch(/may not reach/);
  });

  it('never follows a redirect: the delivery fails, and the redirect’s target is never called', async () => {
    const target = await receiver();
    const hook = await receiver((res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end());
    const logs = new LogSink();
    const events = new StandardWebhookBatchEvents({
      secret: `whsec_${Buffer.alloc(24).toString('base64')}`,
      url: `http://127.0.0.1:${hook.port}/hook`,
      retryDelaysMs: [],
      timeoutMs: 2_000,
      allowPrivateTargets: true,
      logger: createPinoLogger({ level: 'debug', destination: logs }),
    });
    events.notify('batch.completed', newBatch({ endpoint: '/v1/embeddings', id: 'batch_2', inputFileId: 'f', now: new Date() }));
    await events.close();
    expect(hook.received).toEqual(['/hook']);
    expect(target.received).toEqual([]);
    expect(logs.lines.find((l) => l.msg === 'webhook delivery given up')?.reason).toMatch(/redirects are not followed/);
  });
});

describe('a batch whose webhook_url names an internal address', () => {
  let t: TestService;
  let fileId: string;
  beforeAll(async () => {
    t = await startTestService();
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/embeddings', body: { input: 'x' } })}\n`]), 'in.jsonl');
    fileId = ((await (await t.service.app.request('/v1/files', { method: 'POST', body: form })).json()) as { id: string }).id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each(Object.entries(REFUSED))('is refused at creation with 400 when it is %s', async (_kind, url) => {
    const response = await t.post('/v1/batches', { input_file_id: fileId, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { webhook_url: url } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_parameter', param: 'metadata.webhook_url' } });
  });
});
