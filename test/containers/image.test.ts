import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { buildImage, engine, engineAnswers, ENGINE, run, unique, untilOk } from './engine.js';

/*
 * The image as it ships: built from the unchanged Dockerfile, run in each
 * mode (all alone; api and worker against RabbitMQ and Redis containers on
 * one network), and checked as an operator would: health, embeddings through
 * the API, a non-root user, tini as PID 1, the image's HEALTHCHECK, and a
 * stop that ends in exit 0 within the grace period.
 */

const available = await engineAnswers();
const IMAGE = `localhost/${unique('image')}:test`;
const GRACE_SECONDS = 30;

describe.skipIf(!available)(`the image, under ${ENGINE}`, () => {
  const containers: string[] = [];
  const network = unique('net');
  let extraCas: string[] = [];

  beforeAll(async () => {
    ({ extraCas } = await buildImage(IMAGE));
    await engine(['network', 'create', network]);
  }, 25 * 60_000);

  afterAll(async () => {
    for (const name of containers) await run(ENGINE, ['rm', '-f', '-t', '0', name], { timeoutMs: 60_000 }).catch(() => undefined);
    await run(ENGINE, ['network', 'rm', '-f', network], { timeoutMs: 60_000 }).catch(() => undefined);
    await run(ENGINE, ['rmi', '-f', IMAGE], { timeoutMs: 120_000 }).catch(() => undefined);
  }, 5 * 60_000);

  const start = async (name: string, args: string[]) => {
    containers.push(name);
    await engine(['run', '-d', '--name', name, ...args]);
    return name;
  };
  const embed = async (port: number, model?: string) => {
    const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: ['A container ships the service.'], ...(model && { model }) }),
    });
    return { status: response.status, body: (await response.json()) as { data?: { embedding: number[] }[] } };
  };
  /** `stop` with the grace period; the exit code the container ended with, and how long it took. */
  const stop = async (name: string) => {
    const started = Date.now();
    await engine(['stop', '-t', String(GRACE_SECONDS), name], (GRACE_SECONDS + 30) * 1000);
    const seconds = (Date.now() - started) / 1000;
    return { code: Number(await engine(['inspect', name, '--format', '{{.State.ExitCode}}'])), seconds };
  };
  const healthy = async (name: string) => (await run(ENGINE, ['healthcheck', 'run', name], { timeoutMs: 30_000 })).code === 0;

  it('runs in mode all: embeds offline with USE-lite, as a non-root user under tini, healthy, and stops with exit 0', async () => {
    const port = await freePort();
    const name = await start(unique('all'), ['-p', `${port}:8000`, IMAGE]);
    await untilOk(`http://127.0.0.1:${port}/health/ready`);
    const { status, body } = await embed(port);
    expect(status).toBe(200);
    expect(body.data![0]!.embedding).toHaveLength(512);

    expect(await engine(['exec', name, 'id', '-u'])).not.toBe('0');
    expect(await engine(['exec', name, 'id', '-un'])).toBe('node');
    const pid1 = (await engine(['exec', name, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean);
    expect(pid1.slice(0, 4)).toEqual(['/usr/bin/tini', '--', 'node', 'dist/bootstrap/main.js']);
    // The image’s own HEALTHCHECK (podman keeps it only in the docker format, which the build asks for; podman reports it beside Config).
    const [inspected] = JSON.parse(await engine(['image', 'inspect', IMAGE])) as { Config?: { Healthcheck?: { Test: string[] } }; Healthcheck?: { Test: string[] } }[];
    expect((inspected!.Config?.Healthcheck ?? inspected!.Healthcheck)?.Test.join(' ')).toContain('/health/live');
    if (ENGINE === 'podman') expect(await healthy(name)).toBe(true);

    const stopped = await stop(name);
    expect(stopped.code).toBe(0);
    expect(stopped.seconds).toBeLessThan(GRACE_SECONDS);
  }, 180_000);

  it('runs in modes api and worker against RabbitMQ and Redis containers, and both stop with exit 0', async () => {
    const rabbit = await start(unique('rabbitmq'), ['--network', network, '-e', 'RABBITMQ_DEFAULT_USER=embed', '-e', 'RABBITMQ_DEFAULT_PASS=rabbit-secret', 'docker.io/library/rabbitmq:3.13-management']);
    const redis = await start(unique('redis'), ['--network', network, 'docker.io/library/redis:7-alpine', 'redis-server', '--requirepass', 'redis-secret', '--protected-mode', 'no']);
    const shared = ['--network', network, '-e', `RABBITMQ_HOST=${rabbit}`, '-e', 'RABBITMQ_USER=embed', '-e', 'RABBITMQ_PASSWORD=rabbit-secret', '-e', `REDIS_HOST=${redis}`, '-e', 'REDIS_PASSWORD=redis-secret'];
    const port = await freePort();
    const worker = await start(unique('worker'), [...shared, '-e', 'MODE=worker', IMAGE]);
    const api = await start(unique('api'), [...shared, '-e', 'MODE=api', '-p', `${port}:8000`, IMAGE]);

    await untilOk(`http://127.0.0.1:${port}/health/ready`, 120_000);
    await waitFor(async () => {
      const model = (await (await fetch(`http://127.0.0.1:${port}/v1/models/universal-sentence-encoder-lite`)).json()) as { live_workers: number | null };
      return (model.live_workers ?? 0) > 0;
    }, 120_000, 'the worker to report in');
    const { status, body } = await embed(port);
    expect(status).toBe(200);
    expect(body.data![0]!.embedding).toHaveLength(512);
    if (ENGINE === 'podman') {
      expect(await healthy(api)).toBe(true);
      // A worker's HEALTHCHECK asks its health port, as the mode says.
      expect(await healthy(worker)).toBe(true);
    }
    for (const name of [api, worker]) {
      const stopped = await stop(name);
      expect(stopped.code, name).toBe(0);
      expect(stopped.seconds).toBeLessThan(GRACE_SECONDS);
    }
  }, 300_000);

  it('keeps nothing of the build’s certificate authorities, nor its .npmrc', async () => {
    const files = await engine(['run', '--rm', '--entrypoint', 'ls', IMAGE, '-a', '/app']);
    expect(files.split('\n')).not.toContain('.npmrc');
    for (const pem of extraCas) {
      // A line from the middle of the certificate's body, searched for in every file the image holds.
      const line = pem.split('\n')[Math.floor(pem.split('\n').length / 2)]!;
      const found = await run(ENGINE, ['run', '--rm', '--entrypoint', 'grep', IMAGE, '-rlF', '--exclude-dir=proc', '--exclude-dir=sys', '--exclude-dir=dev', line, '/'], { timeoutMs: 300_000 });
      expect(found.stdout.trim()).toBe('');
    }
  }, 600_000);
});
