import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'tsup';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Where a fresh build of the package's current sources was written. */
export interface FreshBuild {
  readonly dir: string;
  /** `file:` URL of the ESM entry, for `import()`. */
  readonly esm: string;
  /** Path of the CJS entry, for `require()`. */
  readonly cjs: string;
  remove(): Promise<void>;
}

/**
 * Builds `src/index.ts` into a new temp folder, so fixture scripts (plain JavaScript, run by
 * plain Node) test the current sources on a fresh clone without a prior `pnpm build`, and
 * never race the package's own `dist`.
 */
export async function buildFresh(): Promise<FreshBuild> {
  const dir = await mkdtemp(join(tmpdir(), 'savepoint-shutdown-build-'));
  try {
    await build({
      config: false,
      entry: { index: join(packageRoot, 'src/index.ts') },
      outDir: dir,
      format: ['esm', 'cjs'],
      platform: 'node',
      target: 'node20',
      dts: false,
      sourcemap: false,
      silent: true,
      // The temp folder has no package.json with "type": "module"; explicit extensions settle it.
      outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.cjs' }),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    esm: pathToFileURL(join(dir, 'index.mjs')).href,
    cjs: join(dir, 'index.cjs'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
