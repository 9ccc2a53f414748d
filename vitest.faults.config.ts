import { defineConfig } from 'vitest/config';

/**
 * The long fault-injection runs (`npm run test:faults`): the real daemon against Mosquitto, killed,
 * cut off and starved of disk. One file at a time, so their timings do not fight over two cores.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
