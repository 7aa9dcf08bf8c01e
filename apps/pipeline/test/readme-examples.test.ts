import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_DIR, REPO_ROOT, tempDir } from './helpers.ts';

/**
 * Every ```ts block of every README (the root one, the CLI's, each package's) runs as written
 * against the built packages. A block marked ```ts no-run (a type shape, a fragment) is skipped.
 * Each block is written inside the package its README belongs to, so `@savepoint/*` resolves
 * exactly as it would for a user (the package's own name and its dependencies), and runs with
 * a fresh temp folder as its working folder.
 */
const READMES = [
  { readme: join(REPO_ROOT, 'README.md'), host: APP_DIR },
  { readme: join(APP_DIR, 'README.md'), host: APP_DIR },
  ...readdirSync(join(REPO_ROOT, 'packages')).map((name) => ({
    readme: join(REPO_ROOT, 'packages', name, 'README.md'),
    host: join(REPO_ROOT, 'packages', name),
  })),
].filter(({ readme }) => existsSync(readme));

interface Example {
  readme: string;
  host: string;
  line: number;
  code: string;
}

function examples(): Example[] {
  const out: Example[] = [];
  for (const { readme, host } of READMES) {
    const lines = readFileSync(readme, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const info = /^```(\S*)(.*)$/.exec(lines[i]!);
      if (!info) continue;
      const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
      const runnable =
        (info[1] === 'ts' || info[1] === 'typescript') && !/\bno-run\b/.test(info[2]!);
      if (runnable)
        out.push({ readme, host, line: i + 1, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return out;
}

const found = examples();
const VITEST = join(
  createRequire(join(REPO_ROOT, 'package.json')).resolve('vitest/package.json'),
  '../vitest.mjs',
);
const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** esbuild comes with tsup, the build tool of every package. */
function transform(code: string): string {
  const tsup = createRequire(join(REPO_ROOT, 'package.json')).resolve('tsup');
  const esbuild = createRequire(tsup)('esbuild') as {
    transformSync(code: string, options: object): { code: string };
  };
  return esbuild.transformSync(code, { loader: 'ts', format: 'esm', target: 'node20' }).code;
}

function ensureHostsBuilt(): void {
  const stale = [...new Set(found.map((e) => e.host))].filter((host) => {
    const built = join(host, 'dist', 'index.js');
    return !existsSync(built) || newest(join(host, 'src')) > statSync(built).mtimeMs;
  });
  if (stale.length === 0) return;
  const filters = stale.map((host) => `--filter=./${relative(REPO_ROOT, host)}...`);
  execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', ...filters], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
  });
}

function newest(dir: string): number {
  let at = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    at = Math.max(at, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return at;
}

describe('README examples run as written', () => {
  it('finds examples in the READMEs', () => {
    expect(found.length).toBeGreaterThan(3);
  });

  for (const example of found) {
    const name = `${relative(REPO_ROOT, example.readme)}:${example.line}`;
    it(name, () => {
      ensureHostsBuilt();
      const dir = join(example.host, '.readme-examples');
      mkdirSync(dir, { recursive: true });
      scratch.push(dir);
      // An example written as a test file (it imports vitest) runs under vitest, as its reader
      // would run it; any other runs under plain node.
      const isTest = /from ['"]vitest['"]/.test(example.code);
      const file = join(dir, `line-${example.line}${isTest ? '.test' : ''}.mjs`);
      writeFileSync(file, transform(example.code));
      const cwd = tempDir();
      try {
        let command = [file];
        if (isTest) {
          // A config of its own, so the repository's vitest projects stay out of it.
          const config = join(dir, `line-${example.line}.vitest.config.mjs`);
          writeFileSync(
            config,
            `export default { test: { include: ['line-${example.line}.test.mjs'] } };\n`,
          );
          command = [VITEST, 'run', '--root', dir, '--config', config];
        }
        const result = spawnSync(process.execPath, command, {
          cwd: cwd.dir,
          encoding: 'utf8',
          timeout: 60_000, // a hung example is a failure, not a stuck suite
          env: { ...process.env, CI: '1', NO_COLOR: '1' },
        });
        expect(result.status, `${name} exited ${result.status}:\n${result.stderr}`).toBe(0);
      } finally {
        cwd.cleanup();
      }
    });
  }
});
