import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, offlineContext } from '../support/browser.js';
import { REPO_ROOT } from '../support/paths.js';
import { startTestService, type TestService } from '../support/service.js';
import { gatedModel } from '../support/stub-model.js';
import { waitFor } from '../support/wait.js';

/*
 * The operator console in a real browser (headless Chromium, no network but
 * this machine): its figures move as tasks run and match the API's; a queued
 * task is cancelled from the page; a dead-lettered message is requeued from
 * the page. One worker runs one task at a time on a model the test can hold,
 * and reports every second.
 */

const browser = await launchChromium();
const SCREENSHOTS = join(REPO_ROOT, '.cache', 'screenshots');

interface Overview {
  snapshot: { models: { id: string; done: number; queue?: { ready: number; deadLettered: number }; cache?: { hits: number; misses: number } }[] };
}

describe.skipIf(!browser)('the operator console', () => {
  let t: TestService;
  let base: string;
  let page: Page;
  let gate: ReturnType<typeof gatedModel>;
  beforeAll(async () => {
    gate = gatedModel();
    gate.release();
    t = await startTestService({
      listen: true,
      withReranker: true,
      loadModel: async () => gate.model,
      env: { WORKER_HEARTBEAT_SECONDS: '1', WORKER_PREFETCH: '1', WORKER_MAX_BATCH_SIZE: '1', WORKER_MODELS: 'tiny-bert,tiny-reranker', TASK_MAX_ATTEMPTS: '1' },
    });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
    const { context, blocked } = await offlineContext(browser as Browser);
    page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    page.on('pageerror', (error) => {
      throw error;
    });
    await page.goto(`${base}/console`);
    await page.locator('[data-testid="models"] tr[data-model="tiny-bert"]').waitFor();
    expect(blocked).toEqual([]);
  });
  afterAll(async () => {
    gate?.release();
    await (browser as Browser | undefined)?.close();
    await t?.stop();
  });

  const overview = async () => (await (await fetch(`${base}/console/api/overview`)).json()) as Overview;
  const modelCell = (testid: string) => page.locator(`[data-testid="models"] tr[data-model="tiny-bert"] [data-testid="${testid}"]`);
  const submit = async (input: string) => {
    const response = await fetch(`${base}/v1/embeddings/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
    return ((await response.json()) as { id: string }).id;
  };

  it('shows the work done as it happens, with the same figures as the API', async () => {
    const before = Number(await modelCell('done').textContent());
    const ids = await Promise.all(['first', 'second', 'third'].map(submit));
    await expect.poll(async () => Number(await modelCell('done').textContent()), { timeout: 15_000 }).toBeGreaterThanOrEqual(before + 3);
    await expect.poll(async () => page.locator('[data-testid="workers"] tbody tr').count()).toBe(1);
    for (const id of ids) await expect(page.locator(`[data-testid="tasks"] tr[data-task="${id}"] [data-testid="status"]`).textContent()).resolves.toBe('succeeded');
    // Once the service is idle, every figure the page shows is the API's.
    const api = (await overview()).snapshot.models.find((m) => m.id === 'tiny-bert')!;
    await expect.poll(async () => Number(await modelCell('done').textContent()), { timeout: 5_000 }).toBe(api.done);
    expect(Number(await modelCell('ready').textContent())).toBe(api.queue!.ready);
    expect(Number(await modelCell('dead-lettered').textContent())).toBe(api.queue!.deadLettered);
    // Each model with its kind: a reranker's queue and figures are shown as an embedding model's are.
    await expect(modelCell('kind').textContent()).resolves.toBe('embedding');
    await expect(page.locator('[data-testid="models"] tr[data-model="tiny-reranker"] [data-testid="kind"]').textContent()).resolves.toBe('reranker');
    // A rerank request, as every synchronous request, is a call that keeps no task record: counted in its model's
    // figures as it is done, but not listed among the tasks.
    const rerankerDone = page.locator('[data-testid="models"] tr[data-model="tiny-reranker"] [data-testid="done"]');
    const doneBefore = Number(await rerankerDone.textContent());
    const reranked = (await (await fetch(`${base}/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'q', documents: ['a', 'b'] }) })).json()) as { id: string };
    await expect.poll(async () => Number(await rerankerDone.textContent()), { timeout: 10_000 }).toBe(doneBefore + 1);
    expect(await page.locator(`[data-testid="tasks"] tr[data-task="${reranked.id}"]`).count()).toBe(0);
  });

  it("shows each embedding model's share of the embedding cache: hits of lookups, and its size", async () => {
    const embed = () => fetch(`${base}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'asked twice of the console' }) });
    const before = (await overview()).snapshot.models.find((m) => m.id === 'tiny-bert')!.cache!;
    expect((await embed()).status).toBe(200);
    expect((await embed()).headers.get('x-embedding-cache-hits')).toBe('1');
    const looked = before.hits + before.misses + 2;
    const hits = before.hits + 1;
    await expect.poll(async () => modelCell('cache-hits').textContent(), { timeout: 10_000 }).toBe(`${Math.round((hits / looked) * 100)}% (${hits} of ${looked})`);
    expect(await modelCell('cache-size').textContent()).toMatch(/^\d+\.\d kB \(0\)$/);
    await expect(page.locator('[data-testid="models"] tr[data-model="tiny-reranker"] [data-testid="cache-hits"]').textContent()).resolves.toBe('–');
  });

  it('lists batches with their progress, as the Batch API reports it', async () => {
    const lines = ['one', 'two', 'three'].map((text, i) => JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/embeddings', body: { input: text } }));
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([`${lines.join('\n')}\n`]), 'in.jsonl');
    const file = (await (await fetch(`${base}/v1/files`, { method: 'POST', body: form })).json()) as { id: string };
    const created = await fetch(`${base}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' }),
    });
    expect(created.status).toBe(200);
    const batch = (await created.json()) as { id: string };
    const status = async () => ((await (await fetch(`${base}/v1/batches/${batch.id}`)).json()) as { status: string }).status;
    await waitFor(async () => (await status()) === 'completed', 15_000, 'the batch to complete');
    // The page refreshes its list with each sample the console pushes (every 2 s).
    const row = page.locator(`[data-testid="batches"] tr[data-batch="${batch.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(async () => row.locator('[data-testid="batch-status"]').textContent({ timeout: 1_000 }), { timeout: 10_000 }).toBe('completed');
    await expect(row.locator('[data-testid="batch-done"]').textContent()).resolves.toBe('3');
    await expect(row.locator('[data-testid="batch-endpoint"]').textContent()).resolves.toBe('/v1/embeddings');
    await expect(row.locator('progress').getAttribute('value')).resolves.toBe('3');
    const api = (await (await fetch(`${base}/v1/batches/${batch.id}`)).json()) as { request_counts: { completed: number } };
    expect(api.request_counts.completed).toBe(3);
  });

  it('cancels a queued task from the page', async () => {
    gate.hold();
    try {
      const running = await submit('held while it runs');
      await waitFor(async () => ((await (await fetch(`${base}/v1/embeddings/tasks/${running}`)).json()) as { status: string }).status === 'running');
      const queued = await submit('cancelled from the console');
      const row = page.locator(`[data-testid="tasks"] tr[data-task="${queued}"]`);
      await expect.poll(async () => row.locator('[data-testid="status"]').textContent(), { timeout: 10_000 }).toBe('queued');
      await row.locator('[data-testid="cancel"]').click();
      await expect.poll(async () => row.locator('[data-testid="status"]').textContent(), { timeout: 10_000 }).toBe('cancelled');
      const task = (await (await fetch(`${base}/v1/embeddings/tasks/${queued}`)).json()) as { status: string; error: string };
      expect(task).toMatchObject({ status: 'cancelled', error: 'Cancelled by console.' });

      // A task's detail, from a click on its row.
      await row.click();
      await expect.poll(async () => page.locator('[data-testid="task-detail"]').textContent()).toContain(queued);
    } finally {
      gate.release();
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'console.png'), fullPage: true });
  });

  it('requeues a dead-lettered message from the page', async () => {
    // The stub model cannot embed "boom": with one attempt allowed, the task fails and its message is dead-lettered.
    const failing = await submit('boom');
    await waitFor(async () => ((await (await fetch(`${base}/v1/embeddings/tasks/${failing}`)).json()) as { status: string }).status === 'failed');
    await waitFor(async () => (await overview()).snapshot.models[0]!.queue!.deadLettered === 1, 10_000);
    const letter = page.locator('[data-testid="dead-letters"] tr[data-dead-letter]');
    await letter.first().waitFor({ timeout: 10_000 });
    expect(await letter.count()).toBe(1);
    expect(await letter.first().textContent()).toContain('cannot embed "boom"');
    expect(await letter.first().getAttribute('data-dead-letter')).toBe(failing);

    await letter.first().locator('[data-testid="requeue"]').click();
    // Requeued, the worker finds its task final (failed) and acknowledges it: the dead-letter queue empties, and stays empty.
    await waitFor(async () => (await overview()).snapshot.models[0]!.queue!.deadLettered === 0, 10_000);
    await expect.poll(async () => page.locator('[data-testid="dead-letters"]').textContent(), { timeout: 10_000 }).toBe('None.');
    expect(t.logs.lines.some((l) => l.msg === 'task is already final; acknowledging its message')).toBe(true);
  });
});

describe('console access', () => {
  it('takes its basic-auth credentials or an admin API key, and refuses the rest with a Basic challenge', async () => {
    const t = await startTestService({
      listen: true,
      env: { CONSOLE_USER: 'ops', CONSOLE_PASSWORD: 'a-console-password', API_KEYS_FILE: '', API_KEYS: 'sk-not-an-admin-key-0001' },
    });
    try {
      const base = `http://127.0.0.1:${t.service.port}`;
      const get = (authorization?: string) => fetch(`${base}/console/api/overview`, { headers: authorization ? { authorization } : {} });
      const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
      expect((await get(basic('ops:a-console-password'))).status).toBe(200);
      // Credentials configured: loopback alone is not enough.
      const anonymous = await get();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await get(basic('ops:wrong'))).status).toBe(401);
      expect((await get('Bearer sk-not-an-admin-key-0001')).status).toBe(401);
      const cancel = await fetch(`${base}/console/api/tasks/whatever/cancel`, { method: 'POST' });
      expect(cancel.status).toBe(401);
    } finally {
      await t.stop();
    }
  });

  it('lets an admin API key in, and answers nobody off this machine when no credentials are configured', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'console-keys-'));
    const file = join(dir, 'keys.yaml');
    await writeFile(file, 'keys:\n  - { name: ops, key: sk-admin-key-for-the-console-01, admin: true }\n  - { name: app, key: sk-plain-key-for-the-api-00001 }\n');
    const t = await startTestService({ env: { API_KEYS_FILE: file } });
    try {
      // No socket (app.request): the caller is not known to be local, and no console credentials are configured.
      expect((await t.get('/console/api/overview')).status).toBe(401);
      expect((await t.get('/console/api/overview', { authorization: 'Bearer sk-plain-key-for-the-api-00001' })).status).toBe(401);
      expect((await t.get('/console/api/overview', { authorization: 'Bearer sk-admin-key-for-the-console-01' })).status).toBe(200);
    } finally {
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets a caller on this machine in without credentials, but never one that a forwarding header says came through a proxy', async () => {
    const t = await startTestService({ listen: true });
    try {
      const get = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${t.service.port}/console/api/overview`, { headers });
      expect((await get()).status).toBe(200);
      // A proxy on this host connects from loopback; whatever its header claims, the caller behind it is not local.
      for (const headers of <Record<string, string>[]>[
        { 'x-forwarded-for': '127.0.0.1' },
        { forwarded: 'for=127.0.0.1' },
        { 'x-real-ip': '127.0.0.1' },
        { 'x-forwarded-for': '203.0.113.9' },
      ]) {
        expect((await get(headers)).status, JSON.stringify(headers)).toBe(401);
      }
    } finally {
      await t.stop();
    }
  });
});
