import { ensureBuilt } from './helpers.ts';

/** Runs once before the pipeline's test files, so parallel test files never build at the same time. */
export default function setup(): void {
  ensureBuilt();
}
