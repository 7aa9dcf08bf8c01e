import { defineProject, mergeConfig } from 'vitest/config';
import { sharedProject } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedProject,
  defineProject({
    test: {
      name: 'atomic-store',
      // Child processes cannot load TypeScript: the sources are bundled once for them.
      globalSetup: ['./test/global-setup.ts'],
    },
  }),
);
