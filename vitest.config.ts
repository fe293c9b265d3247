import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/redis-server.ts', 'test/setup/postgres-server.ts', 'test/setup/web-build.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores here: more workers only fight over them.
    maxWorkers: 2,
  },
});
