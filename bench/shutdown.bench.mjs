// Shutdown latency: from SIGTERM to process exit with every pending update durable, for a
// 10,000-subtask backlog with 1,000 status changes not yet written, on real child processes
// (fixtures/shutdown-child.mjs). Compared with a hand-written handler (JSON.stringify + durable
// write + exit) and with a process that has no handler and saves nothing (the cost of exiting).
//
//   pnpm build && node bench/shutdown.bench.mjs [--quick]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  importDist,
  isMain,
  loadGenerator,
  makeLogger,
  makeTempDir,
  repoPath,
  summarizeValues,
} from './lib.mjs';

export const SUBTASKS = 10_000;
export const PENDING = 1_000;

/** What each variant of the child does on SIGTERM. */
export const VARIANTS = [
  {
    key: 'savepoint',
    name: '@savepoint/session + @savepoint/shutdown (close() in a shutdown hook)',
    saves: true,
  },
  {
    key: 'floor',
    name: 'hand-written: JSON.stringify + durable write, then exit',
    saves: true,
  },
  { key: 'bare', name: 'no handler: killed by SIGTERM, nothing saved', saves: false },
];

/**
 * Runs every variant `runs` times, interleaved, and checks after each run that the pending
 * updates are on disk (for the variants that save) and that the session lock was released.
 *
 * @param {{ quick?: boolean, log?: (message: string) => void }} [options]
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const runs = quick ? 3 : 7;
  const log = options.log ?? makeLogger('shutdown');
  const { SessionManager, sessionLockPath } = await importDist('packages/session');
  const generateBacklog = await loadGenerator();
  const root = await makeTempDir('shutdown-bench');
  try {
    log(`creating a ${SUBTASKS}-subtask session`);
    const planDir = join(root, 'plan');
    const manager = new SessionManager({ prdText: '# Shutdown benchmark\n', planDir });
    const state = await manager.initialize({ backlog: generateBacklog(SUBTASKS, { seed: 3 }) });
    const sessionPath = state.metadata.path;
    await manager.close();
    const files = { savepoint: join(sessionPath, 'tasks.json') };
    for (const key of ['floor', 'bare']) {
      await mkdir(join(root, key));
      files[key] = join(root, key, 'tasks.json');
      await copyFile(files.savepoint, files[key]);
    }
    const targets = { savepoint: planDir, floor: files.floor, bare: files.bare };

    const times = new Map(VARIANTS.map((variant) => [variant.key, []]));
    const verified = new Map(VARIANTS.map((variant) => [variant.key, 0]));
    for (let r = 0; r < runs; r++) {
      // Disjoint slices of Planned subtasks, so every run's updates are new to the file.
      const offset = (r * PENDING) % SUBTASKS;
      const status = Math.floor((r * PENDING) / SUBTASKS) % 2 === 0 ? 'Complete' : 'Planned';
      const order = r % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) {
        const file = files[variant.key];
        const before = statusesOf(file, offset, PENDING);
        if (before.some((value) => value === status)) {
          throw new Error(`${variant.key}: subtasks ${offset}.. already ${status} before run ${r}`);
        }
        const result = await signalChild(variant.key, targets[variant.key], offset, status);
        const after = statusesOf(file, offset, PENDING);
        const durable = after.every((value) => value === status);
        if (variant.saves) {
          if (result.code !== 143) {
            throw new Error(
              `${variant.key}: exit code ${result.code} (${result.signal}), expected 143`,
            );
          }
          if (!durable) throw new Error(`${variant.key}: pending updates missing after exit`);
          if (variant.key === 'savepoint' && existsSync(sessionLockPath(sessionPath))) {
            throw new Error('savepoint: the session lock was left behind');
          }
          verified.set(variant.key, verified.get(variant.key) + 1);
        } else if (result.signal !== 'SIGTERM') {
          throw new Error(`bare: expected death by SIGTERM, got ${result.code}/${result.signal}`);
        }
        times.get(variant.key).push(result.ms);
        log(`run ${r + 1}/${runs} ${variant.key}: ${result.ms.toFixed(1)} ms`);
      }
    }
    const rows = VARIANTS.map((variant) =>
      summarizeValues(variant.name, times.get(variant.key), {
        key: variant.key,
        saves: variant.saves,
        verifiedRuns: verified.get(variant.key),
      }),
    );
    return { name: 'shutdown latency', subtasks: SUBTASKS, pending: PENDING, runs, rows };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * Starts the child, waits for "ready", sends SIGTERM and measures with performance.now() the time
 * until the child has exited.
 */
function signalChild(variant, target, offset, status) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        repoPath('bench', 'fixtures', 'shutdown-child.mjs'),
        variant,
        target,
        offset,
        PENDING,
        status,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let sentAt;
    let exitedAt;
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${variant}: no exit within 60 s\n${stderr}`));
    }, 60_000);
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
      if (sentAt === undefined && stdout.includes('ready\n')) {
        sentAt = performance.now();
        child.kill('SIGTERM');
      }
    });
    child.once('error', reject);
    child.once('exit', () => {
      exitedAt = performance.now();
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      if (sentAt === undefined) {
        reject(new Error(`${variant}: exited before it was ready (${code}/${signal})\n${stderr}`));
        return;
      }
      resolve({ ms: exitedAt - sentAt, code, signal });
    });
  });
}

/** Statuses of `count` subtasks from `offset`, in document order, as the file holds them now. */
function statusesOf(file, offset, count) {
  const backlog = JSON.parse(readFileSync(file, 'utf8'));
  const out = [];
  for (const phase of backlog.backlog) {
    for (const milestone of phase.milestones) {
      for (const task of milestone.tasks) {
        for (const subtask of task.subtasks) out.push(subtask.status);
      }
    }
  }
  return out.slice(offset, offset + count);
}

if (isMain(import.meta.url)) {
  const report = await run({ quick: process.argv.includes('--quick') });
  console.table(
    report.rows.map((row) => ({
      variant: row.name,
      'median ms': Number(row.medianMs.toFixed(1)),
      'min ms': Number(row.minMs.toFixed(1)),
      'max ms': Number(row.maxMs.toFixed(1)),
      runs: row.samples,
      'verified durable': row.saves ? `${row.verifiedRuns}/${row.samples}` : 'n/a',
    })),
  );
}
