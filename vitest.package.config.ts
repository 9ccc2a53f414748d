import { defineConfig } from 'vitest/config';

/**
 * The built Debian packages and tarballs (`npm run test:package`, after `npm run package`): lintian,
 * systemd-analyze, ELF headers, and an install, run and upgrade in a throw-away root.
 */
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
