import { packageBuild } from '../../tsup.base.ts';

// `shims`: the CommonJS build gets an `import.meta.url`, which loads `pg` on first use.
export default packageBuild({ shims: true });
