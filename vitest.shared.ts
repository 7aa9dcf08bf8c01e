import { defineProject } from 'vitest/config';

/**
 * Settings every package's vitest project shares. The `@savepoint/source` export condition
 * makes workspace packages resolve to their TypeScript sources, so tests never need a build.
 */
const conditions = ['@savepoint/source', 'module', 'node', 'development|production'];

export const sharedProject = defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@savepoint/source'] } },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
