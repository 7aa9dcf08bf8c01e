import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore } from '../src/index.ts';
import { describePg, useDatabase } from './helpers.ts';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const REAL = join(HERE, '..', '..', '..', '..', 'shared', 'fixtures', 'real-backlogs');

/** The README's example scripts as written, except for the one line a user fills in. */
function readmeExamples(): string[] {
  const readme = readFileSync(join(HERE, '..', 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks.map((code) => code.replace('await doTheWork(claim.item)', 'true'));
}

describePg('the README example', () => {
  const database = useDatabase();
  const dir = join(HERE, '..', 'node_modules', '.fixtures', `readme-${process.pid}`);
  const scripts: string[] = [];
  beforeAll(async () => {
    const { build } = await import('esbuild');
    mkdirSync(dir, { recursive: true });
    const examples = readmeExamples();
    expect(examples).toHaveLength(2);
    for (const [k, code] of examples.entries()) {
      const source = join(dir, `example-${k}.mjs`);
      writeFileSync(source, code);
      const outfile = join(dir, `example-${k}.bundle.mjs`);
      await build({
        entryPoints: [source],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        conditions: ['@savepoint/source'],
        external: ['pg'],
        logLevel: 'error',
        banner: {
          js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        },
      });
      scripts.push(outfile);
    }
    // A PRD and a backlog of the real corpus with every status reset to Planned.
    writeFileSync(
      join(dir, 'PRD.md'),
      readFileSync(join(REAL, '002_1e734971e481.prd_snapshot.md')),
    );
    const text = readFileSync(join(REAL, '002_1e734971e481.tasks.json'), 'utf8');
    writeFileSync(
      join(dir, 'tasks.json'),
      text.replace(/"status": "Complete"/g, '"status": "Planned"'),
    );
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a backlog, then two workers finish it', async () => {
    const env = { ...process.env, DATABASE_URL: database.url };
    const created = await run(process.execPath, [scripts[0]!, 'tasks.json'], { cwd: dir, env });
    const id = created.stdout.trim();
    expect(id).toMatch(/^001_[0-9a-f]{12}$/);
    await Promise.all(
      [0, 1].map(() =>
        run(process.execPath, [scripts[1]!], { cwd: dir, env: { ...env, SESSION: id } }),
      ),
    );
    const store = createPostgresStore({ connectionString: database.url });
    try {
      const claims = await store.join(id);
      const counts = await claims.countByStatus();
      expect(counts.Complete).toBe(33);
      const completes = (await store.events(id)).filter(
        (e) => e.kind === 'record' && e.to === 'Complete',
      );
      expect(completes).toHaveLength(33);
    } finally {
      await store.close();
    }
  });
});
