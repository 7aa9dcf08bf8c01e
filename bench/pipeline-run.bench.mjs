// Durable updates per second during a real pipeline run with a no-op worker:
//   savepoint run prd.md --backlog <N subtasks> --exec true --progress never --json
// with the default --flush subtask (outcomes appended to tasks.journal in groups, at most one
// write per 20 ms) against --flush change (every status change written at once; changes made
// while an append runs go into the next one). Each run is a
// fresh session, timed as a whole process; a preloaded observer (fixtures/count-writes.mjs)
// counts status changes, durable appends to tasks.journal and replacements of tasks.json.
//
//   pnpm build && node bench/pipeline-run.bench.mjs [--quick]
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  describeValues,
  isMain,
  loadGenerator,
  makeLogger,
  makeTempDir,
  repoPath,
  summarizeValues,
  timeProcess,
} from './lib.mjs';

export const MODES = ['subtask', 'change'];

/**
 * @param {{ quick?: boolean, subtasks?: number, log?: (message: string) => void }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const subtasks = options.subtasks ?? (quick ? 50 : 200);
  const runs = quick ? 2 : 5;
  const log = options.log ?? makeLogger('pipeline');
  const generateBacklog = await loadGenerator();
  const bin = repoPath('apps', 'pipeline', 'bin', 'savepoint.js');
  const observer = pathToFileURL(repoPath('bench', 'fixtures', 'count-writes.mjs')).href;
  const root = await makeTempDir('pipeline-bench');
  try {
    const prd = join(root, 'prd.md');
    const backlogFile = join(root, 'backlog.json');
    await writeFile(prd, '# Pipeline benchmark\n\nEvery subtask is a no-op.\n');
    await writeFile(
      backlogFile,
      `${JSON.stringify(generateBacklog(subtasks, { seed: 9 }), null, 2)}\n`,
    );

    const measured = new Map(MODES.map((mode) => [mode, []]));
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) {
        const counts = join(root, `counts-${mode}-${r}.json`);
        const args = [
          '--import',
          observer,
          bin,
          'run',
          prd,
          '--plan-dir',
          join(root, `plan-${mode}-${r}`),
          '--backlog',
          backlogFile,
          '--exec',
          'true',
          '--progress',
          'never',
          '--json',
          '--flush',
          mode,
        ];
        const result = await timeProcess(process.execPath, args, {
          env: { ...process.env, SAVEPOINT_BENCH_COUNTS: counts },
        });
        const outcome = parseOutcome(result);
        if (result.code !== 0 || outcome.completed !== subtasks || outcome.failed !== 0) {
          throw new Error(
            `--flush ${mode}: exit ${result.code}, ${outcome.completed}/${subtasks} complete\n${result.stderr}`,
          );
        }
        const observed = JSON.parse(readFileSync(counts, 'utf8'));
        if (
          observed.statusChanges < subtasks ||
          observed.journalAppends < 1 ||
          observed.tasksJsonWrites < 1
        ) {
          throw new Error(`--flush ${mode}: the observer saw no status changes or no writes`);
        }
        measured.get(mode).push({ ms: result.ms, ...observed });
        log(
          `run ${r + 1}/${runs} --flush ${mode}: ${result.ms.toFixed(0)} ms, ` +
            `${observed.statusChanges} status changes, ${observed.journalAppends} journal appends, ` +
            `${observed.tasksJsonWrites} writes of tasks.json`,
        );
      }
    }

    const rows = MODES.map((mode) => {
      const samples = measured.get(mode);
      const inRun = samples.map((s) => s.lastTasksJsonWriteMs - s.firstStatusChangeMs);
      return {
        mode,
        wall: summarizeValues(
          `--flush ${mode}`,
          samples.map((s) => s.ms),
        ),
        loop: summarizeValues(`--flush ${mode} (work loop)`, inRun),
        statusChanges: describeValues(samples.map((s) => s.statusChanges)),
        journalAppends: describeValues(samples.map((s) => s.journalAppends)),
        tasksJsonWrites: describeValues(samples.map((s) => s.tasksJsonWrites)),
        subtasksPerSecond: describeValues(samples.map((s) => (subtasks * 1000) / s.ms)),
        statusChangesPerSecond: describeValues(samples.map((s) => (s.statusChanges * 1000) / s.ms)),
        appendsPerSecond: describeValues(samples.map((s) => (s.journalAppends * 1000) / s.ms)),
        loopSubtasksPerSecond: describeValues(inRun.map((ms) => (subtasks * 1000) / ms)),
        loopAppendsPerSecond: describeValues(
          samples.map((s, k) => (s.journalAppends * 1000) / inRun[k]),
        ),
      };
    });
    return { name: 'pipeline run with a no-op worker', subtasks, runs, rows };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function parseOutcome(result) {
  try {
    return JSON.parse(result.stdout.trim().split('\n').at(-1));
  } catch {
    return { completed: -1, failed: -1 };
  }
}

if (isMain(import.meta.url)) {
  const report = await run({ quick: process.argv.includes('--quick') });
  console.table(
    report.rows.map((row) => ({
      mode: `--flush ${row.mode}`,
      'wall ms': Number(row.wall.medianMs.toFixed(0)),
      'subtasks/s': Number(row.subtasksPerSecond.median.toFixed(1)),
      'status changes': row.statusChanges.median,
      'status changes/s': Number(row.statusChangesPerSecond.median.toFixed(1)),
      'journal appends': row.journalAppends.median,
      'appends/s': Number(row.appendsPerSecond.median.toFixed(1)),
      'tasks.json writes': row.tasksJsonWrites.median,
    })),
  );
}
