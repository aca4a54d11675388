import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The container tests need a container engine and run apart: npm run test:containers. The node-loss
    // tests start a RabbitMQ cluster and a Sentinel set-up of their own, and run apart too: npm run test:ha.
    exclude: [...configDefaults.exclude, 'test/containers/**', 'test/ha/**'],
    // Model loading (TF.js wasm, onnxruntime sessions) takes seconds on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/skipped-integration-reporter.ts'],
  },
});
