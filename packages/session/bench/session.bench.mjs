// Session benchmark (issue 12): what a flush, a load and a compaction cost with the journal, each
// side by side in this one process with the floor it is held to.
//
//   flush      flushUpdates() after one status change at 1,000 / 10,000 / 100,000 subtasks, against
//              JSON.stringify + a hand-written durable replace of the same backlog (the old flush);
//              then the sizes in turn, for how the flush grows with the backlog
//   batch      flushUpdates() of 1,000 changes against one fsync'd append of the same bytes
//   load       loadSession() of a 10,000-subtask session with a 10,000-record journal, against the
//              same snapshot without a journal
//   compact    saveBacklog() (a compaction) against JSON.stringify + durable replace
//   sigterm    SIGTERM to exit of a child holding 1,000 pending changes on 10,000 subtasks, and
//              `node -e 0` start to exit
//   cli        `savepoint run --simulate 0` on 100,000 subtasks: subtasks per second
//
//   pnpm --filter @savepoint/pipeline... build && node packages/session/bench/session.bench.mjs [--quick]
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fdatasyncSync,
  constants as fsConstants,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readSession, SessionManager } from '../dist/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = pathToFileURL(join(HERE, '../dist/index.js')).href;
const CLI = join(HERE, '../../../apps/pipeline/bin/savepoint.js');

/**
 * Runs the benchmark.
 *
 * @param {{ quick?: boolean, log?: (message: string) => void, only?: string[] }} [options]
 *   `quick` takes fewer samples and leaves out 100,000 subtasks; `only` picks cases.
 */
export async function run(options = {}) {
  const quick = options.quick === true;
  const log = options.log ?? ((message) => process.stderr.write(`session: ${message}\n`));
  const wanted = (name) => !options.only || options.only.includes(name);
  const generateBacklog = await loadGenerator();
  const root = mkdtempSync(join(tmpdir(), 'savepoint-session-bench-'));
  const results = [];
  const ratios = {};
  const goals = {};
  const figures = {};
  try {
    // flushUpdates() after one change, at three sizes, against the old flush.
    if (wanted('flush')) {
      const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
      const opened = [];
      try {
        for (const size of sizes) {
          log(`flush: ${size} subtasks`);
          const session = await openSession(
            root,
            `flush-${size}`,
            generateBacklog(size, { seed: 7 }),
          );
          let flip = 0;
          session.flushOnce = async () => {
            // Always a real change: the subtask flips between Complete and Planned.
            const id = session.ids[(flip++ * 7919) % session.ids.length];
            const next =
              session.manager.index.get(id).status === 'Complete' ? 'Planned' : 'Complete';
            session.manager.updateItemStatus(id, next);
            await session.manager.flushUpdates();
          };
          session.size = size;
          opened.push(session);
          const { manager, planDir, flushOnce } = session;
          const floorTarget = join(planDir, 'floor.json');
          const floorOnce = () =>
            durableWrite(
              floorTarget,
              `${JSON.stringify(manager.currentSession.taskRegistry, null, 2)}\n`,
            );
          // The floor costs seconds at 100,000 subtasks: fewer of it, interleaved all the same.
          const floorRounds = size >= 100_000 ? (quick ? 2 : 4) : quick ? 4 : 10;
          const flushesPerRound = 12;
          const flushSamples = [];
          const floorSamples = [];
          for (let round = -1; round < floorRounds; round++) {
            const elapsed = await timed(floorOnce);
            if (round >= 0) floorSamples.push(elapsed);
            // The floor leaves a backlog-sized string behind; the garbage collector reclaiming it
            // is the floor's cost, not the flush's: the first flushes after it are not counted.
            for (let k = 0; k < flushesPerRound; k++) {
              const elapsed = await timed(flushOnce);
              if (round >= 0 && k >= 4) flushSamples.push(elapsed);
            }
          }
          const flush = fromSamples(
            `flushUpdates() after 1 change, ${count(size)} subtasks`,
            flushSamples,
          );
          const floor = fromSamples(
            `old flush: JSON.stringify + durable replace, ${count(size)} subtasks`,
            floorSamples,
          );
          results.push(flush, floor);
          ratios[`oldFlushOverFlush_${size}`] = floor.medianMs / flush.medianMs;
        }
        goals.flush100xFasterAt10k = ratios.oldFlushOverFlush_10000 >= 100;

        // How the flush grows with the backlog: every size in turn, in the same heap, with no
        // floor in between. Beside the floor, the 100,000-subtask samples came right after a
        // 140 MB durable write each round (1,000 subtasks: 1.4 MB), so they measured the disk
        // and the collector catching up after it as much as the flush.
        if (sizes.includes(100_000)) {
          log('flush: growth, the sizes in turn');
          const samples = new Map(opened.map((session) => [session.size, []]));
          for (let round = 0; round < 20; round++) {
            const order = round % 2 === 0 ? opened : [...opened].reverse();
            for (const session of order) {
              for (let k = 0; k < 8; k++) {
                const elapsed = await timed(session.flushOnce);
                if (k >= 2) samples.get(session.size).push(elapsed);
              }
            }
          }
          const growth = {};
          for (const [size, values] of samples) {
            const row = fromSamples(
              `flushUpdates() after 1 change, ${count(size)} subtasks, sizes in turn`,
              values,
            );
            results.push(row);
            growth[size] = row.medianMs;
          }
          ratios.flushGrowth1kTo100k = growth[100_000] / growth[1_000];
          goals.flushGrowthUnder1_5x = ratios.flushGrowth1kTo100k < 1.5;
        }
      } finally {
        for (const { manager } of opened) manager.closeSync();
      }
    }

    // A flush of 1,000 changes against one fsync'd append of the same bytes.
    if (wanted('batch')) {
      log('batch: 1,000 changes on 10,000 subtasks');
      const { manager, ids, folder } = await openSession(
        root,
        'batch',
        generateBacklog(10_000, { seed: 8 }),
      );
      const journal = join(folder, 'tasks.journal');
      const floorFile = join(root, 'batch-floor.journal');
      const floorFd = openSync(floorFile, 'a');
      const rounds = quick ? 6 : 30;
      let lastBytes = Buffer.alloc(0);
      const flushSamples = [];
      const floorSamples = [];
      let status = 'Planned';
      try {
        for (let round = -2; round < rounds; round++) {
          status = status === 'Complete' ? 'Planned' : 'Complete';
          const offset = round * 1_000;
          for (let k = 0; k < 1_000; k++) {
            manager.updateItemStatus(ids[(Math.abs(offset) + k * 10) % ids.length], status);
          }
          const before = existsSync(journal) ? statSync(journal).size : 0;
          // The floor appends the bytes a flush of 1,000 changes appended (the previous round's,
          // of the same size), with one write and one fdatasync. The order alternates, so the
          // garbage the 1,000 updates left falls on both alike.
          const floor = () => {
            let written = 0;
            while (written < lastBytes.length) written += writeSync(floorFd, lastBytes, written);
            fdatasyncSync(floorFd);
          };
          const flush = () => manager.flushUpdates();
          let flushMs;
          let floorMs;
          if (round % 2 === 0) {
            floorMs = await timed(floor);
            flushMs = await timed(flush);
          } else {
            flushMs = await timed(flush);
            floorMs = await timed(floor);
          }
          const bytes = readFileSync(journal).subarray(before);
          lastBytes = bytes;
          if (round >= 0) {
            flushSamples.push(flushMs);
            floorSamples.push(floorMs);
          }
          figures.batchBytes = bytes.length;
        }
      } finally {
        closeSync(floorFd);
      }
      const flush = fromSamples('flushUpdates() of 1,000 changes, 10,000 subtasks', flushSamples);
      const floor = fromSamples('floor: one write + fdatasync of the same bytes', floorSamples);
      results.push(flush, floor);
      ratios.batchFlushOverAppend = flush.medianMs / floor.medianMs;
      goals.batchWithin3xOfAppend = ratios.batchFlushOverAppend <= 3;
      manager.closeSync();
    }

    // Load with a 10,000-record journal against the snapshot alone.
    if (wanted('load')) {
      log('load: building a 10,000-record journal on 10,000 subtasks');
      const backlog = generateBacklog(10_000, { seed: 9 });
      const { manager, ids, folder, planDir } = await openSession(root, 'load', backlog);
      for (let k = 0; k < 10_000; k++) {
        manager.updateItemStatus(ids[(k * 7919) % ids.length], k % 3 === 0 ? 'Failed' : 'Complete');
        await manager.flushUpdates();
      }
      const records = manager.getStats().flushes;
      // Let go without compacting, so the journal stays as it is.
      manager.closeSync();
      const aloneDir = join(planDir, '..', 'load-alone');
      const alone = join(aloneDir, `999_${folder.slice(-12)}`);
      mkdirSync(alone, { recursive: true });
      for (const file of ['tasks.json', 'prd_snapshot.md'])
        copyFileSync(join(folder, file), join(alone, file));
      const rounds = quick ? 3 : 8;
      const withJournal = [];
      const snapshotOnly = [];
      for (let round = -1; round < rounds; round++) {
        const order = round % 2 === 0 ? [folder, alone] : [alone, folder];
        for (const path of order) {
          const opener = new SessionManager({ planDir: dirname(path) });
          const elapsed = await timed(() => opener.loadSession(path));
          opener.closeSync();
          if (round >= 0) (path === folder ? withJournal : snapshotOnly).push(elapsed);
        }
      }
      const journal = fromSamples(
        `loadSession(): 10,000 subtasks + ${count(records)}-record journal`,
        withJournal,
      );
      const snapshot = fromSamples('loadSession(): the snapshot alone', snapshotOnly);
      results.push(journal, snapshot);
      figures.loadJournalBytes = statSync(join(folder, 'tasks.journal')).size;
      figures.loadRecords = records;
      ratios.loadJournalOverSnapshot = journal.medianMs / snapshot.medianMs;
      goals.loadWithin1_5x = ratios.loadJournalOverSnapshot <= 1.5;
    }

    // A compaction against the stringify + durable replace floor.
    if (wanted('compact')) {
      log('compact: 10,000 subtasks');
      const { manager, ids, planDir } = await openSession(
        root,
        'compact',
        generateBacklog(10_000, { seed: 10 }),
      );
      const floorTarget = join(planDir, 'floor.json');
      const rounds = quick ? 4 : 10;
      const compactSamples = [];
      const floorSamples = [];
      for (let round = -1; round < rounds; round++) {
        manager.updateItemStatus(
          ids[(round + 1) % ids.length],
          round % 2 === 0 ? 'Complete' : 'Planned',
        );
        await manager.flushUpdates();
        const compact = () => manager.saveBacklog(manager.currentSession.taskRegistry);
        const floor = () =>
          durableWrite(
            floorTarget,
            `${JSON.stringify(manager.currentSession.taskRegistry, null, 2)}\n`,
          );
        const order = round % 2 === 0 ? [compact, floor] : [floor, compact];
        for (const step of order) {
          const elapsed = await timed(step);
          if (round >= 0) (step === compact ? compactSamples : floorSamples).push(elapsed);
        }
      }
      const compact = fromSamples(
        'compaction: saveBacklog(registry), 10,000 subtasks',
        compactSamples,
      );
      const floor = fromSamples('floor: JSON.stringify + durable replace', floorSamples);
      results.push(compact, floor);
      ratios.compactOverFloor = compact.medianMs / floor.medianMs;
      goals.compactWithin1_3x = ratios.compactOverFloor <= 1.3;
      await manager.close();
    }

    // SIGTERM to exit with 1,000 pending changes, and a bare node start to exit.
    if (wanted('sigterm')) {
      log('sigterm: 1,000 pending changes on 10,000 subtasks');
      const { manager, folder } = await openSession(
        root,
        'sigterm',
        generateBacklog(10_000, { seed: 11 }),
      );
      await manager.close();
      const rounds = quick ? 3 : 7;
      const sigterm = [];
      const bare = [];
      for (let round = 0; round < rounds; round++) {
        sigterm.push(await sigtermToExit(folder, 1_000));
        // The child's 1,000 changes (its first 1,000 subtasks set Complete) must be on disk.
        const saved = (await readSession(folder)).backlog.backlog
          .flatMap((p) => p.milestones.flatMap((m) => m.tasks.flatMap((t) => t.subtasks)))
          .slice(0, 1_000);
        if (saved.some((subtask) => subtask.status !== 'Complete')) {
          throw new Error('SIGTERM: the pending changes were not saved');
        }
        bare.push(await startToExit(process.execPath, ['-e', '0']));
      }
      const shutdown = fromSamples(
        'SIGTERM to exit, 1,000 pending changes, 10,000 subtasks',
        sigterm,
      );
      const node = fromSamples('`node -e 0` start to exit', bare);
      results.push(shutdown, node);
      ratios.sigtermOverBareNode = shutdown.medianMs / node.medianMs;
    }

    // The CLI with a no-op simulated worker on 100,000 subtasks: the rate of its work loop, read
    // from its progress lines (one per subtask), between the 20th subtask and WINDOW more.
    if (wanted('cli') && existsSync(CLI)) {
      const size = quick ? 10_000 : 100_000;
      log(`cli: savepoint run --simulate 0 on ${count(size)} subtasks`);
      const backlogFile = join(root, 'cli-backlog.json');
      writeFileSync(
        backlogFile,
        `${JSON.stringify(generateBacklog(size, { seed: 12 }), null, 2)}\n`,
      );
      const prd = join(root, 'cli-prd.md');
      writeFileSync(prd, '# CLI benchmark\n');
      const window = quick ? 200 : 1_000;
      const rates = [];
      for (let k = 0; k < (quick ? 1 : 2); k++) {
        const args = [
          'run',
          prd,
          '--plan-dir',
          join(root, `cli-plan-${k}`),
          '--backlog',
          backlogFile,
        ];
        args.push('--simulate', '0', '--progress', 'auto');
        const rate = await cliRate(args, 20, window);
        rates.push(rate.perSecond);
        log(`cli: run ${k + 1}: ${rate.done} subtasks in ${rate.ms.toFixed(0)} ms`);
      }
      const sorted = [...rates].sort((a, b) => a - b);
      figures.cliSubtasks = size;
      figures.cliWindow = window;
      ratios.cliSubtasksPerSecond = sorted[sorted.length >> 1];
      goals.cliAtLeast100PerSecond = ratios.cliSubtasksPerSecond >= 100;
    }

    return { name: 'session', subtasks: 10_000, results, ratios, goals, figures };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function openSession(root, name, backlog) {
  const planDir = join(root, name);
  const manager = new SessionManager({ prdText: `# ${name}\n`, planDir });
  const state = await manager.initialize({ backlog });
  const ids = manager.index.subtasks().map((subtask) => subtask.id);
  return { manager, ids, planDir, folder: state.metadata.path };
}

async function timed(step) {
  const started = performance.now();
  await step();
  return performance.now() - started;
}

function sigtermToExit(folder, pending) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(HERE, 'sigterm-child.mjs'), DIST, folder, String(pending)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let started = 0;
    child.stdout.on('data', (chunk) => {
      if (started === 0 && String(chunk).includes('ready')) {
        started = performance.now();
        child.kill('SIGTERM');
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 143) reject(new Error(`sigterm child exited ${code}`));
      else resolve(performance.now() - started);
    });
  });
}

/**
 * Runs the CLI, counts its progress lines ("[k/N ...] completed ..."), times subtasks `from` to
 * `from + window` (or as far as it gets in 120 s), then stops it with SIGTERM.
 */
function cliRate(args, from, window) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let started = 0;
    let startCount = 0;
    let latest = 0;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ms = performance.now() - started;
      const done = latest - startCount;
      child.once('exit', () => resolve({ done, ms, perSecond: (done * 1000) / ms }));
      child.kill('SIGTERM');
    };
    const timer = setTimeout(() => {
      if (started === 0) {
        child.kill('SIGKILL');
        reject(new Error('the CLI made no progress in 10 minutes'));
      } else finish();
    }, 600_000);
    const onData = (chunk) => {
      for (const match of String(chunk).matchAll(/\[(\d+)\/\d+ [^\]]*\] completed/g)) {
        latest = Math.max(latest, Number(match[1]));
        if (started === 0 && latest >= from) {
          started = performance.now();
          startCount = latest;
          setTimeout(finish, 120_000).unref();
        }
        if (started !== 0 && latest - startCount >= window) finish();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
  });
}

function startToExit(command, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`));
      else resolve(performance.now() - started);
    });
  });
}

function fromSamples(name, samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const medianMs =
    sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { name, medianMs, minMs: sorted[0], maxMs: sorted.at(-1), samples: sorted.length };
}

function count(n) {
  return n.toLocaleString('en-US');
}

/** The hand-written floor: what any durable replace of a file must at least do. */
function durableWrite(target, text) {
  const temp = `${target}.${process.pid}.tmp`;
  const fd = openSync(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
  try {
    const data = Buffer.from(text);
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  const dir = openSync(dirname(target), fsConstants.O_RDONLY);
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

async function loadGenerator() {
  const shared = join(HERE, '../../task-schema/bench/generate.mjs');
  const module = await import(pathToFileURL(shared).href);
  return module.generateBacklog;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const onlyAt = process.argv.indexOf('--only');
  const report = await run({
    quick: process.argv.includes('--quick'),
    ...(onlyAt > 0 ? { only: process.argv[onlyAt + 1].split(',') } : {}),
  });
  console.table(
    report.results.map((result) => ({
      name: result.name,
      'median ms': Number(result.medianMs.toPrecision(4)),
      'min ms': Number(result.minMs.toPrecision(4)),
      'max ms': Number(result.maxMs.toPrecision(4)),
      samples: result.samples,
    })),
  );
  console.log(
    JSON.stringify(
      { ratios: report.ratios, goals: report.goals, figures: report.figures },
      null,
      2,
    ),
  );
}
