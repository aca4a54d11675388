import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/adapters/memory/memory-key-ring.js';
import { startTestService, type TestService } from '../support/service.js';

/*
 * API keys: every /v1/* route needs one; health, docs and the OpenAPI
 * document stay open; /metrics has its own token. The official OpenAI SDK
 * sends the key as a bearer token and turns a refusal into AuthenticationError.
 */

const PLAIN = 'sk-plain-key-from-the-environment';
const HASHED = 'sk-a-key-the-file-holds-only-as-a-digest';
const METRICS = 'metrics-scraper-token';

describe('API keys', () => {
  let dir: string;
  let t: TestService;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keys-'));
    const file = join(dir, 'keys.yaml');
    await writeFile(file, `keys:\n  - name: search-backend\n    sha256: ${sha256Hex(HASHED)}\n  - name: ops\n    key: sk-an-admin-key-in-plain-text\n    admin: true\n`);
    t = await startTestService({ listen: true, prometheus: true, env: { API_KEYS: PLAIN, API_KEYS_FILE: file, METRICS_TOKEN: METRICS } });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const client = (apiKey: string) => new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 });

  it('lets the OpenAI SDK in with a key from API_KEYS, or one the file holds as a sha256', async () => {
    for (const key of [PLAIN, HASHED]) {
      const { data } = await client(key).embeddings.create({ model: 'tiny-bert', input: 'hello' });
      expect(data[0]!.embedding).toHaveLength(32);
    }
    // The access log names the key's owner, never the key.
    const lines = t.logs.lines.filter((l) => l.msg === 'request' && l.path === '/v1/embeddings');
    expect(lines.map((l) => l.key)).toEqual(expect.arrayContaining(['key-1', 'search-backend']));
    expect(JSON.stringify(t.logs.lines)).not.toContain(HASHED);
  });

  it('refuses a wrong key with AuthenticationError (401 invalid_api_key) in OpenAI’s shape', async () => {
    const refused = await client('sk-not-a-key-of-this-service').embeddings.create({ model: 'tiny-bert', input: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(refused).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
    await expect(client('wrong').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses a request without a key with 401, WWW-Authenticate: Bearer and a problem document, before reading its body', async () => {
    const response = await fetch(`${base}/v1/embeddings/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'x' }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ code: 'invalid_api_key', status: 401 });
  });

  it.each<[string, object, (body: unknown) => void]>([
    ['/v1/rerank', { query: 'q', documents: ['a'] }, (body: unknown) => expect(body).toMatchObject({ error: { code: 'invalid_api_key' } })],
    ['/v2/rerank', { model: 'm', query: 'q', documents: ['a'] }, (body: unknown) => expect(body).toMatchObject({ message: expect.any(String), code: 'invalid_api_key' })],
    ['/rerank', { query: 'q', texts: ['a'] }, (body: unknown) => expect(body).toMatchObject({ error: expect.any(String), error_type: expect.any(String) })],
    ...['/', '/embed', '/similarity', '/tokenize', '/decode', '/tei/m', '/tei/m/embed', '/tei/m/rerank', '/tei/m/tokenize'].map((path): [string, object, (body: unknown) => void] => [
      path,
      { inputs: 'x', ids: [1] },
      (body) => expect(body).toMatchObject({ error: expect.any(String), error_type: 'Validation', code: 'invalid_api_key' }),
    ]),
  ])('guards %s too, refusing a request without a key in its family’s error shape', async (path, body, shaped) => {
    const post = (headers: Record<string, string>) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const refused = await post({});
    expect(refused.status).toBe(401);
    shaped(await refused.json());
    expect((await post({ authorization: `Bearer ${PLAIN}` })).status).not.toBe(401);
  });

  it('guards TEI’s GET /info, at the root and under /tei/{model}', async () => {
    for (const path of ['/info', '/tei/m/info']) {
      const refused = await fetch(`${base}${path}`);
      expect(refused.status, path).toBe(401);
      expect(await refused.json()).toMatchObject({ error_type: 'Validation', code: 'invalid_api_key' });
    }
  });

  it('takes the key from x-api-key too', async () => {
    const response = await fetch(`${base}/v1/models`, { headers: { 'x-api-key': PLAIN } });
    expect(response.status).toBe(200);
  });

  it('leaves the health endpoints, the docs and the OpenAPI document open', async () => {
    for (const path of ['/health/live', '/health/ready', '/docs', '/openapi.json']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    }
  });

  it('guards /metrics with its own token, which no API key replaces', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${PLAIN}` } })).status).toBe(401);
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('embedding_http_requests_total');
  });
});

describe('a service without keys', () => {
  it('is open, and says so at start-up when it listens beyond this machine', async () => {
    const exposed = await startTestService({ listen: true, env: { API_HOST: '0.0.0.0' } });
    const local = await startTestService({ listen: true });
    try {
      expect((await fetch(`http://127.0.0.1:${exposed.service.port}/v1/models`)).status).toBe(200);
      expect(exposed.logs.lines.find((l) => l.level === 'warn' && String(l.msg).startsWith('no API keys'))).toMatchObject({ host: '0.0.0.0' });
      expect(local.logs.lines.some((l) => String(l.msg).startsWith('no API keys'))).toBe(false);
    } finally {
      await exposed.stop();
      await local.stop();
    }
  });
});
