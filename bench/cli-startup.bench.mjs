// Start-up cost of the savepoint CLI, timed over repeated real runs: `savepoint --version` and
// `savepoint status` on a 10,000-subtask session, against `node -e 0` (the cost of starting Node).
//
//   pnpm build && node bench/cli-startup.bench.mjs [--quick]
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  importDist,
  isMain,
  loadGenerator,
  makeLogger,
  makeTempDir,
  repoPath,
  summarizeValues,
  timeProcess,
} from './lib.mjs';

export const SUBTASKS = 10_000;

/**
 * Runs each command `runs` times, round-robin, and checks every run's exit code and output.
 *
 * @param {{ quick?: boolean, log?: (message: string) => void }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const runs = quick ? 5 : 15;
  const log = options.log ?? makeLogger('cli');
  const { SessionManager } = await importDist('packages/session');
  const generateBacklog = await loadGenerator();
  const bin = repoPath('apps', 'pipeline', 'bin', 'savepoint.js');
  const { version } = JSON.parse(
    readFileSync(repoPath('apps', 'pipeline', 'package.json'), 'utf8'),
  );
  const root = await makeTempDir('cli-bench');
  try {
    log(`creating a ${SUBTASKS}-subtask session`);
    const planDir = join(root, 'plan');
    const manager = new SessionManager({ prdText: '# CLI start-up benchmark\n', planDir });
    await manager.initialize({ backlog: generateBacklog(SUBTASKS, { seed: 5 }) });
    await manager.close();

    const commands = [
      {
        name: 'node -e 0',
        display: 'node -e 0',
        args: ['-e', '0'],
        check: (out) => out === '',
      },
      {
        name: 'savepoint --version',
        display: 'node apps/pipeline/bin/savepoint.js --version',
        args: [bin, '--version'],
        check: (out) => out.trim() === version,
      },
      {
        name: `savepoint status (${SUBTASKS.toLocaleString('en-US')} subtasks)`,
        display: 'node apps/pipeline/bin/savepoint.js status --plan-dir <plan>',
        args: [bin, 'status', '--plan-dir', planDir],
        check: (out) => out.includes(`0/${SUBTASKS} complete`),
      },
    ];
    const times = new Map(commands.map((command) => [command.name, []]));
    // One untimed run each: the first start after a build pays for cold file caches.
    for (const command of commands) await timeProcess(process.execPath, command.args);
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? commands : [...commands].reverse();
      for (const command of order) {
        const result = await timeProcess(process.execPath, command.args);
        if (result.code !== 0 || !command.check(result.stdout)) {
          throw new Error(
            `${command.name}: exit ${result.code}, unexpected output: ${result.stdout}${result.stderr}`,
          );
        }
        times.get(command.name).push(result.ms);
      }
      log(`round ${r + 1}/${runs}`);
    }
    const rows = commands.map((command) =>
      summarizeValues(command.name, times.get(command.name), { display: command.display }),
    );
    return { name: 'CLI start-up', subtasks: SUBTASKS, runs, rows };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const report = await run({ quick: process.argv.includes('--quick') });
  const base = report.rows[0].medianMs;
  console.table(
    report.rows.map((row) => ({
      command: row.name,
      'median ms': Number(row.medianMs.toFixed(1)),
      'min ms': Number(row.minMs.toFixed(1)),
      'max ms': Number(row.maxMs.toFixed(1)),
      runs: row.samples,
      'x node -e 0': Number((row.medianMs / base).toFixed(2)),
    })),
  );
}
