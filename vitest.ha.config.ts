import { defineConfig } from 'vitest/config';

/**
 * npm run test:ha: nodes lost under load, on a RabbitMQ cluster and a Redis
 * Sentinel set-up that each test starts beside the machine's servers (see
 * docs/scaling.md, "No single point of failure"). One file at a time: each
 * starts several servers and the service's processes, which use both cores.
 */
export default defineConfig({
  test: {
    include: ['test/ha/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
