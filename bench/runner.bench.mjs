// @savepoint/runner, side by side in one process:
// 1. Overhead per subtask: the runner with commandWorker('true') at concurrency 1 (claim, item
//    file, log, process-group record, group end, durable outcome in groups of up to 20 ms) against
//    a bare loop that spawns `/bin/sh -c true` the same number of times and waits for each exit.
//    No onEvent, as with the CLI's default quiet output: the command writes to its attempt log
//    itself.
// 2. Speed-up with concurrency 1, 2, 4 and 8 for independent subtasks whose worker sleeps 200 ms.
//
//   pnpm build && node bench/runner.bench.mjs [--quick] [--json]
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { importDist, isMain, makeLogger, makeTempDir, summarizeValues } from './lib.mjs';

export const LEVELS = [1, 2, 4, 8];

/**
 * @param {{ quick?: boolean, log?: (message: string) => void }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const log = options.log ?? makeLogger('runner');
  const subtasks = quick ? 50 : 200;
  // Many short rounds: on a shared machine the load comes and goes within seconds, and the
  // median of many interleaved rounds is what a spike of someone else's work moves least.
  const rounds = quick ? 2 : 9;
  const sleepers = quick ? 16 : 32;
  const { SessionManager } = await importDist('packages/session');
  const { createRunner, commandWorker } = await importDist('packages/runner');
  const root = await makeTempDir('runner-bench');
  let sessions = 0;

  /** Runs `count` independent subtasks through a fresh session; returns the wall time in ms. */
  async function timeRunner(count, worker, concurrency) {
    const manager = new SessionManager({
      prdText: `# bench ${sessions}\n`,
      planDir: join(root, `plan-${sessions++}`),
    });
    await manager.initialize({ backlog: independent(count) });
    const started = performance.now();
    const summary = await createRunner({ session: manager, worker, concurrency }).run();
    const ms = performance.now() - started;
    await manager.close();
    if (summary.completed.length !== count) {
      throw new Error(`runner: ${summary.completed.length}/${count} complete`);
    }
    return ms;
  }

  let probes = 0;
  /**
   * The median time to create an empty file in the bench folder, in ms. Each attempt of the
   * runner creates two (its log and its item file); the bare loop creates none. On ext4 a create
   * can take 20 times longer for a while after many files near it were deleted (other benchmarks
   * and tests do that), so the state of the folder goes with the ratio.
   */
  function createMs() {
    const dir = join(root, `probe-${probes++}`);
    mkdirSync(dir);
    const times = [];
    for (let k = 0; k < 100; k++) {
      const started = performance.now();
      closeSync(openSync(join(dir, `f${k}`), 'w'));
      times.push(performance.now() - started);
    }
    return median(times);
  }

  const createBefore = createMs();
  const loadBefore = loadavg()[0];
  try {
    const runnerMs = [];
    const bareMs = [];
    for (let r = 0; r < rounds; r++) {
      // Interleaved, alternating which goes first, so drift in machine load hits both.
      const order = r % 2 === 0 ? ['runner', 'bare'] : ['bare', 'runner'];
      for (const which of order) {
        if (which === 'runner') runnerMs.push(await timeRunner(subtasks, commandWorker('true'), 1));
        else bareMs.push(await bareLoop(subtasks));
      }
      log(
        `overhead round ${r + 1}/${rounds}: runner ${runnerMs.at(-1).toFixed(0)} ms, bare ${bareMs.at(-1).toFixed(0)} ms for ${subtasks}`,
      );
    }
    const overhead = {
      subtasks,
      rounds,
      runner: summarizeValues('runner, commandWorker("true")', runnerMs),
      bare: summarizeValues('bare loop of /bin/sh -c true', bareMs),
    };
    overhead.ratio = overhead.runner.medianMs / overhead.bare.medianMs;
    // Each round's runner against the bare loop right beside it, for a load that drifts.
    overhead.pairedRatio = median(runnerMs.map((ms, r) => ms / bareMs[r]));
    // The ratio moves with the machine's load (the runner's extra work competes for the cores),
    // so the 1-minute load average around the measurement goes with it.
    overhead.load = { before: loadBefore, after: loadavg()[0] };
    overhead.createMs = { before: createBefore, after: createMs() };
    overhead.perSubtaskMs = {
      runner: overhead.runner.medianMs / subtasks,
      bare: overhead.bare.medianMs / subtasks,
    };

    const speed = new Map(LEVELS.map((level) => [level, []]));
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      for (const level of r % 2 === 0 ? LEVELS : [...LEVELS].reverse()) {
        speed.get(level).push(await timeRunner(sleepers, commandWorker('sleep 0.2'), level));
      }
      log(
        `speed-up round ${r + 1}: ${LEVELS.map((l) => `${l}: ${speed.get(l).at(-1).toFixed(0)} ms`).join(', ')}`,
      );
    }
    const base = summarizeValues('concurrency 1', speed.get(1)).medianMs;
    const concurrency = LEVELS.map((level) => {
      const summary = summarizeValues(`concurrency ${level}`, speed.get(level));
      return {
        level,
        wall: summary,
        speedUp: base / summary.medianMs,
        ideal: sleepers / Math.ceil(sleepers / level),
      };
    });
    return { name: 'runner', overhead, sleepers, concurrency };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Spawns `/bin/sh -c true` `count` times, one after another, and returns the wall time in ms. */
async function bareLoop(count) {
  const started = performance.now();
  for (let k = 0; k < count; k++) {
    await new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`sh exited ${code}`)),
      );
    });
  }
  return performance.now() - started;
}

function independent(count) {
  const box = (type, id) => ({
    type,
    id,
    title: `${type} ${id}`,
    status: 'Planned',
    description: 'benchmark',
  });
  const subtasks = Array.from({ length: count }, (_, k) => ({
    type: 'Subtask',
    id: `P1.M1.T1.S${k + 1}`,
    title: `subtask ${k + 1}`,
    status: 'Planned',
    story_points: 1,
    dependencies: [],
    context_scope: 'benchmark',
  }));
  return {
    backlog: [
      {
        ...box('Phase', 'P1'),
        milestones: [
          { ...box('Milestone', 'P1.M1'), tasks: [{ ...box('Task', 'P1.M1.T1'), subtasks }] },
        ],
      },
    ],
  };
}

if (isMain(import.meta.url)) {
  const result = await run({ quick: process.argv.includes('--quick') });
  // `--json`: the whole result on stdout, for scripts/bench.mjs, which runs this file on its own.
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  }
  const { overhead } = result;
  process.stdout.write(
    `overhead: runner ${overhead.perSubtaskMs.runner.toFixed(2)} ms/subtask, bare ${overhead.perSubtaskMs.bare.toFixed(2)} ms/spawn, ratio ${overhead.ratio.toFixed(2)}x (round by round ${overhead.pairedRatio.toFixed(2)}x)\n`,
  );
  for (const row of result.concurrency) {
    process.stdout.write(
      `concurrency ${row.level}: ${row.wall.medianMs.toFixed(0)} ms, speed-up ${row.speedUp.toFixed(2)}x\n`,
    );
  }
}
