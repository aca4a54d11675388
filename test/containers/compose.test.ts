import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBertFolder } from '../support/bert-fixture.js';
import { REPO_ROOT } from '../support/paths.js';
import { freePort } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { buildImage, engine, engineAnswers, ENGINE, run, unique, untilOk } from './engine.js';

/*
 * The compose stack as operators start it with `make start-core`: every
 * service of compose.yaml's files but the `dashboards` profile (Grafana and
 * Elasticsearch), from the image built here. Embeddings flow through every
 * model's worker; a worker scales to two; Prometheus, scraping with the
 * repository's mlops/ config, sees every target up; and a busy worker
 * killed loses no task.
 *
 * Under podman, podman-compose runs the files; it reads neither `include:`
 * nor `profiles:`, so the test names compose.yaml's files and the services
 * outside the profile, as `make start-core` would start them.
 */

const available = await engineAnswers();
const PROJECT = unique('stack');
const IMAGE = `localhost/${PROJECT}:test`;
/** The models compose.api.yaml runs a worker for, and the dimensions config/ml_config.yaml declares for them. */
const ONNX_MODELS = ['all-MiniLM-L6-v2', 'all-MiniLM-L12-v2'];

interface ComposeFile {
  include?: string[];
  services: Record<string, { profiles?: string[] }>;
}

describe.skipIf(!available)(`the compose stack, under ${ENGINE}`, () => {
  const generated: string[] = [];
  let files: string[] = [];
  const services: string[] = [];
  let env: NodeJS.ProcessEnv = {};
  let apiPort = 0;
  let prometheusPort = 0;
  /** The second worker's container, under podman (compose down does not know it). */
  let extra = '';

  const compose = async (args: string[]) => {
    const [command, base] = ENGINE === 'podman' ? ['podman-compose', []] : ['docker', ['compose']];
    const ran = await run(command, [...base, '-p', PROJECT, ...files.flatMap((f) => ['-f', f]), ...args], { env, timeoutMs: 10 * 60_000 });
    if (ran.code !== 0) throw new Error(`compose ${args.join(' ')} exited ${ran.code}:\n${ran.stdout.slice(-3000)}\n${ran.stderr.slice(-3000)}`);
  };
  const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${apiPort}${path}`, init);
  const liveWorkers = async (model: string) => ((await (await api(`/v1/models/${model}`)).json()) as { live_workers: number | null }).live_workers ?? 0;

  beforeAll(async () => {
    await buildImage(IMAGE);
    // A worker per model whose files are present: generated exports of each MiniLM's output size where the folder is missing.
    for (const model of ONNX_MODELS) {
      const dir = join(REPO_ROOT, 'models', model);
      if (await access(dir).then(() => true, () => false)) continue;
      generated.push(dir);
      await writeBertFolder(dir, { shape: { layers: 1, hidden: 384, heads: 6, intermediate: 384, maxPositions: 128 } });
    }
    const root = parse(await readFile(join(REPO_ROOT, 'compose.yaml'), 'utf8')) as ComposeFile;
    files = root.include!;
    for (const file of files) {
      const { services: declared } = parse(await readFile(join(REPO_ROOT, file), 'utf8'), { merge: true }) as ComposeFile;
      services.push(...Object.entries(declared).filter(([, s]) => !s.profiles?.length).map(([name]) => name));
    }
    [apiPort, prometheusPort] = [await freePort(), await freePort()];
    // Ports the stack publishes are moved off those this machine's own RabbitMQ and Redis hold.
    env = {
      IMAGE,
      RABBITMQ_PASSWORD: 'rabbit-secret',
      REDIS_PASSWORD: 'redis-secret',
      GRAFANA_ADMIN_PASSWORD: 'unused',
      API_KEYS: '',
      METRICS_TOKEN: '',
      API_PORT: String(apiPort),
      PROMETHEUS_PORT: String(prometheusPort),
      RABBITMQ_PUBLISHED_PORT: String(await freePort()),
      RABBITMQ_MANAGEMENT_PORT: String(await freePort()),
      RABBITMQ_METRICS_PORT: String(await freePort()),
      REDIS_PUBLISHED_PORT: String(await freePort()),
    };
    await compose(['up', '-d', '--no-build', ...services]);
  }, 25 * 60_000);

  afterAll(async () => {
    if (extra) await run(ENGINE, ['rm', '-f', '-t', '0', extra], { timeoutMs: 60_000 }).catch(() => undefined);
    await compose(['down', '-v']).catch(() => undefined);
    if (ENGINE === 'podman') {
      // podman-compose 1.0.3 leaves the project's network and named volumes behind.
      await run(ENGINE, ['network', 'rm', '-f', `${PROJECT}_default`], { timeoutMs: 60_000 }).catch(() => undefined);
      const volumes = (await engine(['volume', 'ls', '-q', '--filter', `name=${PROJECT}_`]).catch(() => '')).split('\n').filter(Boolean);
      if (volumes.length > 0) await run(ENGINE, ['volume', 'rm', '-f', ...volumes], { timeoutMs: 60_000 }).catch(() => undefined);
    }
    await run(ENGINE, ['rmi', '-f', IMAGE], { timeoutMs: 120_000 }).catch(() => undefined);
    for (const dir of generated) await rm(dir, { recursive: true, force: true });
  }, 10 * 60_000);

  it('starts every service but the dashboards profile, and embeddings flow through each model’s worker', async () => {
    expect(services.sort()).toEqual(['api', 'prometheus', 'rabbitmq', 'redis', 'worker-minilm-l12', 'worker-minilm-l6', 'worker-use-lite']);
    await untilOk(`http://127.0.0.1:${apiPort}/health/ready`, 180_000);
    for (const [model, dimensions] of [['universal-sentence-encoder-lite', 512], ...ONNX_MODELS.map((m) => [m, 384] as const)] as const) {
      await waitFor(async () => (await liveWorkers(model)) > 0, 180_000, `a live worker for ${model}`);
      const response = await api('/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'through the stack' }) });
      expect(response.status, model).toBe(200);
      expect(((await response.json()) as { data: { embedding: number[] }[] }).data[0]!.embedding).toHaveLength(dimensions);
    }
  }, 400_000);

  it('scales a worker to two', async () => {
    if (ENGINE === 'podman') {
      // podman-compose 1.0.3 has no --scale, and its deploy.replicas breaks on list-form health checks:
      // a second replica is the service's one-off container, with the same definition and network alias.
      extra = `${PROJECT}_worker-minilm-l6_2`;
      await compose(['run', '-d', '-T', '--no-deps', '--name', extra, 'worker-minilm-l6']);
    } else {
      await compose(['up', '-d', '--no-build', '--scale', 'worker-minilm-l6=2', ...services]);
    }
    await waitFor(async () => (await liveWorkers('all-MiniLM-L6-v2')) === 2, 180_000, 'two live workers for all-MiniLM-L6-v2');
  }, 400_000);

  it('lets Prometheus, scraping with the repository’s config, see every target up', async () => {
    interface Target { scrapeUrl: string; health: string; lastError: string }
    let targets: Target[] = [];
    await waitFor(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } };
      targets = body.data.activeTargets;
      return targets.length > 0 && targets.every((t) => t.health === 'up');
    }, 120_000, 'every target up').catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(targets.map((t) => [t.scrapeUrl, t.health, t.lastError]))}`);
    });
    expect(targets.map((t) => new URL(t.scrapeUrl).host).sort()).toEqual(['api:8000', 'rabbitmq:15692', 'worker-minilm-l12:8001', 'worker-minilm-l6:8001', 'worker-use-lite:8001']);
  }, 200_000);

  it('loses no task when a busy worker is killed', async () => {
    const submit = async (i: number) => {
      const response = await api('/v1/embeddings/tasks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'all-MiniLM-L6-v2', input: Array.from({ length: 16 }, (_, j) => `task ${i} text ${j} ${'word '.repeat(60)}`) }),
      });
      expect(response.status).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    // Sent 30 at a time, faster than the workers take them: one by one, the workers once kept pace and had nothing left to lose.
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 30) ids.push(...(await Promise.all(Array.from({ length: 30 }, (_, j) => submit(i + j)))));
    const status = async (id: string) => ((await (await api(`/v1/embeddings/tasks/${id}`)).json()) as { status: string }).status;
    await waitFor(async () => (await Promise.all(ids.slice(0, 20).map(status))).some((s) => s === 'succeeded'), 120_000, 'work to be under way');
    // Read just before the kill (the last tasks only, to be quick).
    const left = (await Promise.all(ids.slice(-40).map(status))).filter((s) => s !== 'succeeded').length;
    const victim = `${PROJECT}_worker-minilm-l6_1`;
    await engine(['kill', victim]);
    // Killed while busy: work was left, some of it in the victim's hands.
    expect(left).toBeGreaterThan(0);
    await waitFor(async () => (await Promise.all(ids.map(status))).every((s) => s === 'succeeded'), 300_000, 'every task to succeed');
  }, 400_000);
});
