import { defineConfig } from 'vitest/config';

/** npm run test:containers: the image, the compose stack and the testcontainers path, under a container engine (see README, Deployment). */
export default defineConfig({
  test: {
    include: ['test/containers/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 25 * 60_000,
    pool: 'forks',
    // One at a time: each file builds or starts containers that use both cores.
    fileParallelism: false,
  },
});
