import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Threads-engine tests start worker pools; two test files at a time keep the 2-core host responsive.
    maxWorkers: 2,
  },
});
