import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingModel } from '../../src/ports/embedding-model.js';
import type { ModelEntry } from '../../src/bootstrap/config/schema.js';
import { loadModel } from '../../src/bootstrap/engines.js';
import { freePort, startProcess } from '../support/processes.js';
import { startTestService, type TestService } from '../support/service.js';
import { waitFor } from '../support/wait.js';

describe('embedded service over TCP: submit, poll, result', () => {
  let t: TestService;
  let base: string;
  beforeAll(async () => {
    t = await startTestService({ listen: true, withUseLite: true });
    base = `http://127.0.0.1:${t.service.port}`;
    await t.service.modelsSettled;
  });
  afterAll(async () => {
    await t.stop();
  });

  it('embeds with USE-lite and the ONNX model, 100 concurrent clients at once', async () => {
    const submit = async (input: string | string[], model: string) => {
      const response = await fetch(`${base}/v1/embeddings/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input, model }),
      });
      expect(response.status).toBe(202);
      return new URL(response.headers.get('location')!, base).toString();
    };
    const poll = async (location: string) => {
      let body: { status: string; result: { data: { embedding: number[] }[]; dimensions: number } | null } | undefined;
      await waitFor(async () => {
        body = (await (await fetch(location)).json()) as typeof body;
        return body!.status === 'succeeded' || body!.status === 'failed';
      }, 20_000);
      return body!;
    };

    const locations = await Promise.all(
      Array.from({ length: 100 }, (_, i) => submit(`client ${i} says hello`, i % 2 ? 'use-lite' : 'tiny-bert')),
    );
    const results = await Promise.all(locations.map(poll));
    results.forEach((r, i) => {
      expect(r.status).toBe('succeeded');
      expect(r.result!.dimensions).toBe(i % 2 ? 512 : 32);
      expect(r.result!.data[0]!.embedding).toHaveLength(i % 2 ? 512 : 32);
    });

    const semantic = await poll(
      await submit(['A man is eating food.', 'A man is eating a piece of bread.', 'The girl is carrying a baby.'], 'use-lite'),
    );
    const [food, bread, baby] = semantic.result!.data.map((d) => d.embedding);
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(dot(food!, bread!)).toBeGreaterThan(dot(food!, baby!));
  });
});

describe('readiness while models load', () => {
  it('is live at once, 503 not ready until the models are loaded, then 200', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const t = await startTestService({
      loadModel: async (entry: ModelEntry): Promise<EmbeddingModel> => {
        await gate;
        const loaded = await loadModel(entry, { intraOpThreads: 1, spinning: false });
        if (loaded.kind !== 'embedding') throw new Error(`${entry.id} is not an embedding model`);
        return loaded.model;
      },
    });
    try {
      expect((await t.get('/health/live')).status).toBe(200);
      const notReady = await t.get('/health/ready');
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({
        status: 'not_ready',
        checks: { 'model:tiny-bert': { status: 'failing', detail: 'loading' } },
      });
      // A task accepted while no worker serves its model says so, waits in the queue, and is served once the model is up.
      const accepted = await t.post('/v1/embeddings/tasks', { input: 'early bird' });
      expect(accepted.status).toBe(202);
      const { id, live_workers, notice } = (await accepted.json()) as { id: string; live_workers: number; notice: string };
      expect(live_workers).toBe(0);
      expect(notice).toMatch(/No live worker serves model 'tiny-bert'/);
      expect((await (await t.get('/v1/models/tiny-bert')).json()) as object).toMatchObject({ live_workers: 0, loaded: false });
      release();
      await t.service.modelsSettled;
      expect((await t.get('/health/ready')).status).toBe(200);
      await waitFor(async () => ((await (await t.get(`/v1/embeddings/tasks/${id}`)).json()) as { status: string }).status === 'succeeded');
    } finally {
      release();
      await t.stop();
    }
  });
});

describe('the entry point as a process', () => {
  it('starts with the shipped configuration, serves USE-lite, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = startProcess([], { API_PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    try {
      await service.ready(port, 20_000);
      const models = (await (await fetch(`http://127.0.0.1:${port}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data.map((m) => m.id)).toContain('universal-sentence-encoder-lite');
    } finally {
      expect(await service.stop()).toBe(0);
    }
  });

  it('exits 2 naming every bad setting', async () => {
    const service = startProcess(['--mode', 'sideways'], { API_PORT: 'abc' });
    expect(await service.exited()).toBe(2);
    expect(service.output()).toMatch(/mode \(from --mode\)/);
    expect(service.output()).toMatch(/api\.port \(from API_PORT\)/);
  });
});
