import { defineProject, mergeConfig } from 'vitest/config';
import { sharedProject } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedProject,
  defineProject({
    test: {
      name: 'task-schema',
      // Type tests (*.test-d.ts) run through tsc as part of the same vitest run.
      typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
    },
  }),
);
