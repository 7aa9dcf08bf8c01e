import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package folder. */
export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Fixture scripts run the built package, since Node 20 cannot load the TypeScript sources. The
 * root `pnpm test` builds first; on a fresh clone or after an edit this builds once more.
 */
export function ensureBuilt(): void {
  const built = join(packageDir, 'dist', 'index.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    builtAt = Number.NEGATIVE_INFINITY;
  }
  const inputs = [
    join(packageDir, 'package.json'),
    join(packageDir, 'tsup.config.ts'),
    ...listSources(join(packageDir, 'src')),
  ];
  if (inputs.every((file) => statSync(file).mtimeMs <= builtAt)) return;
  const require = createRequire(join(packageDir, 'package.json'));
  const manifestPath = require.resolve('tsup/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    bin: Record<string, string>;
  };
  const cli = join(dirname(manifestPath), manifest.bin.tsup!);
  execFileSync(process.execPath, [cli], { cwd: packageDir, stdio: 'pipe' });
}

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}
