import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmq, redis, requireOrSkip } from '../support/infra.js';
import { freePort, startProcess } from '../support/processes.js';
import { REPO_ROOT } from '../support/paths.js';

/*
 * What the image does, without Docker: production dependencies only
 * (`npm ci --omit=dev`) beside the compiled dist/, started in every mode.
 * Runtime code that needs a devDependency fails here.
 */

const amqp = await requireOrSkip('RabbitMQ', await rabbitmq());
const store = await requireOrSkip('Redis', await redis());

describe.skipIf(!amqp || !store)('a production install', () => {
  let dir: string;

  beforeAll(async () => {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
    dir = await mkdtemp(join(tmpdir(), 'prod-'));
    for (const path of ['package.json', 'package-lock.json', '.npmrc', 'config', 'dist', 'models']) {
      await cp(join(REPO_ROOT, path), join(dir, path), { recursive: true });
    }
    execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
    });
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['all', 'api', 'worker'] as const)('starts in mode %s and gets ready', async (mode) => {
    const apiPort = await freePort();
    const healthPort = await freePort();
    const env: Record<string, string> = {
      MODE: mode,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      WORKER_HEALTH_PORT: String(healthPort),
      LOG_LEVEL: 'warn',
      ...(mode !== 'all' && { AMQP_URL: amqp!.url, REDIS_URL: store!.url, REDIS_KEY_PREFIX: `prod:${mode}:` }),
    };
    const service = startProcess([], env, true, dir);
    try {
      await service.ready(mode === 'worker' ? healthPort : apiPort, 60_000);
    } finally {
      const code = await service.stop();
      expect(code, service.output()).toBe(0);
    }
  }, 90_000);
});
