import { defineConfig } from 'vitest/config';

/**
 * The soak (`npm run soak`, see scripts/soak.ts): one long run, never part of `npm test` or CI.
 * Its own test sets its time limit from the budget.
 */
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
