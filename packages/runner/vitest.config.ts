import { defineProject, mergeConfig } from 'vitest/config';
import { sharedProject } from '../../vitest.shared.ts';

export default mergeConfig(sharedProject, defineProject({ test: { name: 'runner' } }));
