import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/paths.js';
import { engine, engineAnswers, ENGINE, run } from './engine.js';

/*
 * The path users with Docker take: the integration suites with no server
 * URLs in the environment, so that every suite starts its RabbitMQ and Redis
 * through testcontainers (here, the stand-in images under podman's Docker
 * API). REQUIRE_INFRA=1 makes a suite that finds no server fail rather than
 * skip. The suites run in a vitest of their own, killed before this test's
 * own timeout so that its clean-up still runs.
 */

const available = await engineAnswers();
const RUN_LIMIT_MS = 12 * 60_000;

describe.skipIf(!available)(`the integration suites through testcontainers, under ${ENGINE}`, () => {
  it('pass with containers they start themselves, and leave none behind', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, REQUIRE_INFRA: '1', TESTCONTAINERS_RYUK_DISABLED: 'true' };
    for (const name of ['AMQP_URL', 'REDIS_URL', 'RABBITMQ_HOST', 'REDIS_HOST']) delete env[name];
    const before = new Set((await engine(['ps', '-a', '-q'])).split('\n').filter(Boolean));
    const ran = await run(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/int'], { cwd: REPO_ROOT, env, timeoutMs: RUN_LIMIT_MS });
    // eslint-disable-next-line no-control-regex -- vitest colours its report
    const output = `${ran.stdout}\n${ran.stderr}`.replace(/\u001b\[[0-9;]*m/g, '');
    const summary = output.split('\n').filter((line) => /Test Files|Tests |FAIL|skipping/.test(line)).join('\n');
    expect(ran.code, `${summary}\n${output.slice(-6000)}`).toBe(0);
    // Every suite had its servers: none was skipped for want of one.
    expect(output).not.toMatch(/skipping (RabbitMQ|Redis) tests/);
    expect(output).toMatch(/Test Files\s+\d+ passed/);
    const left = (await engine(['ps', '-a', '-q'])).split('\n').filter((id) => id && !before.has(id));
    expect(left).toEqual([]);
  }, 13 * 60_000);
});
