import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores on CI: heavy suites (site build, images) must not starve each other.
    maxWorkers: 2,
  },
});
