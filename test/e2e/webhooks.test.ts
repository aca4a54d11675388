import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createPinoLogger } from '../../src/adapters/pino/pino-logger.js';
import { StandardWebhookBatchEvents, UnsentBatchEvents } from '../../src/adapters/webhooks/standard-webhooks.js';
import { newBatch } from '../../src/domain/index.js';
import { LogSink } from '../support/log-sink.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

/*
 * Batch events reach a local receiver signed per Standard Webhooks (checked
 * with the standardwebhooks library, as a receiver would), and a delivery
 * the receiver fails is retried with the same id.
 */

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver that answers each delivery with the next of `statuses` (then 200). */
async function receiver(statuses: number[] = []): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString() });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

const secret = () => `whsec_${randomBytes(24).toString('base64')}`;
const headersOf = (r: Received) => ({
  'webhook-id': String(r.headers['webhook-id']),
  'webhook-timestamp': String(r.headers['webhook-timestamp']),
  'webhook-signature': String(r.headers['webhook-signature']),
});

describe('batch webhooks', () => {
  const servers: Server[] = [];
  let t: TestService | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    for (const server of servers.splice(0)) server.close();
  });

  it('signs each event so that the receiver’s library verifies it, and retries a failed delivery with the same id', async () => {
    const hook = await receiver([500, 503]);
    servers.push(hook.server);
    const key = secret();
    const own = await receiver();
    servers.push(own.server);
    const events = new StandardWebhookBatchEvents({ secret: key, url: hook.url, retryDelaysMs: [20, 20, 20], timeoutMs: 2_000, allowPrivateTargets: true, logger: createPinoLogger({ level: 'debug', destination: new LogSink() }) });
    const batch = { ...newBatch({ endpoint: '/v1/embeddings', id: 'batch_1', inputFileId: 'file-1', now: new Date(), metadata: { webhook_url: own.url } }), status: 'completed' as const };
    events.notify('batch.completed', batch);
    await waitFor(() => hook.received.length === 3 && own.received.length === 1);
    await events.close();

    const verifier = new Webhook(key);
    for (const delivery of [...hook.received, ...own.received]) {
      expect(verifier.verify(delivery.body, headersOf(delivery))).toMatchObject({ object: 'event', type: 'batch.completed', data: { id: 'batch_1', status: 'completed' } });
      expect(delivery.headers['content-type']).toBe('application/json');
    }
    // Retries carry the first attempt's id, so a receiver deduplicates them.
    expect(new Set(hook.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(() => verifier.verify(hook.received[0]!.body.replace('completed', 'cancelled'), headersOf(hook.received[0]!))).toThrow();
    expect(() => new Webhook(secret()).verify(hook.received[0]!.body, headersOf(hook.received[0]!))).toThrow();
  });

  it('gives a delivery up after its last retry', async () => {
    const hook = await receiver([500, 500, 500]);
    servers.push(hook.server);
    const logs = new LogSink();
    const events = new StandardWebhookBatchEvents({ secret: secret(), url: hook.url, retryDelaysMs: [10], timeoutMs: 2_000, allowPrivateTargets: true, logger: createPinoLogger({ level: 'debug', destination: logs }) });
    events.notify('batch.failed', newBatch({ endpoint: '/v1/embeddings', id: 'batch_2', inputFileId: 'f', now: new Date() }));
    await waitFor(() => logs.lines.some((l) => l.msg === 'webhook delivery given up'));
    expect(hook.received).toHaveLength(2);
    await events.close();
  });

  it('sends nothing unsigned: without a secret a batch’s webhook_url is logged, not called', async () => {
    const hook = await receiver();
    servers.push(hook.server);
    const logs = new LogSink();
    const events = new UnsentBatchEvents(createPinoLogger({ level: 'debug', destination: logs }));
    events.notify('batch.completed', newBatch({ endpoint: '/v1/embeddings', id: 'batch_3', inputFileId: 'f', now: new Date(), metadata: { webhook_url: hook.url } }));
    expect(logs.lines.some((l) => String(l.msg).includes('BATCHES_WEBHOOK_SECRET'))).toBe(true);
    await events.close();
    // A signed event sent after it is the first and only one the receiver gets: the unsigned one never left.
    const signed = new StandardWebhookBatchEvents({ secret: secret(), url: hook.url, retryDelaysMs: [], timeoutMs: 2_000, allowPrivateTargets: true, logger: createPinoLogger({ level: 'silent', destination: new LogSink() }) });
    signed.notify('batch.completed', newBatch({ endpoint: '/v1/embeddings', id: 'batch_4', inputFileId: 'f', now: new Date() }));
    await signed.close();
    expect(hook.received.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id)).toEqual(['batch_4']);
  });

  it('tells a batch’s own webhook_url and the deployment’s when a batch completes through the service', async () => {
    const own = await receiver();
    const deployment = await receiver();
    servers.push(own.server, deployment.server);
    const key = secret();
    t = await startTestService({ listen: true, env: { BATCHES_WEBHOOK_SECRET: key, BATCHES_WEBHOOK_URL: deployment.url, BATCHES_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });
    await t.service.modelsSettled;
    const client = new OpenAI({ baseURL: `http://127.0.0.1:${t.service.port}/v1`, apiKey: 'unused', maxRetries: 0 });
    const line = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/embeddings', body: { input: 'hello' } });
    const file = await client.files.create({ file: await toFile(Buffer.from(`${line}\n`), 'in.jsonl'), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h', metadata: { webhook_url: own.url } });
    await waitFor(() => own.received.length === 1 && deployment.received.length === 1, 10_000);
    for (const delivery of [own.received[0]!, deployment.received[0]!]) {
      expect(new Webhook(key).verify(delivery.body, headersOf(delivery))).toMatchObject({ type: 'batch.completed', data: { id: batch.id, request_counts: { total: 1, completed: 1, failed: 0 } } });
    }
  });
});
