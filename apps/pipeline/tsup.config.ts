import { packageBuild } from '../../tsup.base.ts';

// The CLI is ESM only: it is run, not required. `main` is an entry of its own, and each command
// a chunk loaded when it runs: the bin imports `dist/main.js`, which does not load the packages
// (zod, pg) until a command needs them.
export default packageBuild({
  entry: ['src/index.ts', 'src/main.ts'],
  format: ['esm'],
  splitting: true,
});
