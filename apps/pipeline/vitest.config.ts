import { defineProject, mergeConfig } from 'vitest/config';
import { sharedProject } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedProject,
  defineProject({
    test: {
      name: 'pipeline',
      testTimeout: 120_000,
      globalSetup: ['test/global-setup.ts', 'test/postgres-setup.ts'],
    },
  }),
);
