import type { Reporter, TestModule } from 'vitest/node';

/*
 * `npm test` on a machine with no RabbitMQ, Redis or container engine skips
 * the integration suites (test/int) instead of failing them. This reporter
 * says so at the end of the run, with the count and how to run them, so that
 * a green run never hides that part of the suite did not run.
 */
export default class SkippedIntegrationReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let skipped = 0;
    let files = 0;
    for (const module of testModules) {
      if (!module.moduleId.includes('/test/int/')) continue;
      const tests = [...module.children.allTests()];
      // A suite skips whole when its servers are absent; a lone skipped test has a reason of its own.
      if (tests.length === 0 || !tests.every((test) => test.result().state === 'skipped')) continue;
      skipped += tests.length;
      files += 1;
    }
    if (skipped === 0) return;
    process.stdout.write(
      `\n${skipped} integration ${skipped === 1 ? 'test' : 'tests'} in ${files} ${files === 1 ? 'file' : 'files'} ${skipped === 1 ? 'was' : 'were'} skipped: they need RabbitMQ and Redis.\n` +
        'Run them with the servers\' URLs, e.g.\n' +
        '  AMQP_URL=amqp://guest:guest@127.0.0.1:5672 REDIS_URL=redis://127.0.0.1:6379 npm test\n' +
        'or with a container engine for testcontainers (see docs/development.md).\n',
    );
  }
}
