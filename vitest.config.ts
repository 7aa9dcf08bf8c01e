import { defineConfig } from 'vitest/config';

// One root run covers every package: each package folder with a vitest.config.ts is a project.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
  },
});
