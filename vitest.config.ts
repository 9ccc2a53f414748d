import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault-injection runs take minutes: `npm run test:faults` (vitest.faults.config.ts); the
    // packages are built and checked by `npm run test:package` (vitest.package.config.ts).
    exclude: ['test/faults/**', 'test/package/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
