import { packageBuild } from '../../tsup.base.ts';

// The CLI is ESM only: it is run, not required.
export default packageBuild({ format: ['esm'] });
