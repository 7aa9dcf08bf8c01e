#!/usr/bin/env node
// `pnpm bench [--quick] [--out FILE] [--only SECTION,...]`: runs every benchmark in the repository,
// each side by side with its competitors in this one process run, and writes docs/benchmarks.md
// from the results. Progress goes to stderr; the goals summary to stdout.
//
// Sections: writes (packages/atomic-store/bench), backlog, shutdown, cli, pipeline (bench/ at the
// root), packages (the task-schema and session benches as their packages define them; full runs),
// postgres (packages/store-postgres/bench: a throwaway PostgreSQL cluster; skipped with a message
// when none can start).
// BENCH_DIR picks the file system the benchmarks write to (default: the OS temp folder).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Run order. The package benchmarks run early, before the 100,000-subtask backlogs have grown
// this process's heap; the Markdown keeps its own order.
const SECTIONS = [
  'writes',
  'packages',
  'backlog',
  'shutdown',
  'cli',
  'pipeline',
  'runner',
  'postgres',
];
const DISTS = [
  'packages/task-schema',
  'packages/atomic-store',
  'packages/session',
  'packages/shutdown',
  'packages/progress',
  'packages/runner',
  'packages/store-postgres',
  'apps/pipeline',
];
// The libraries the atomic-store benchmark compares with, and what each does for durability.
const WRITERS = [
  { name: 'atomic-store', durability: 'fsync of the file, rename, fsync of the folder' },
  {
    name: 'hand-written floor',
    durability:
      'temp file, write, fsync, close, rename, fsync of the folder: the least a fully durable replace does',
  },
  { name: 'write-file-atomic', durability: 'fsync of the file, rename; no fsync of the folder' },
  { name: 'atomically', durability: 'fsync of the file, rename; no fsync of the folder' },
  { name: 'steno', durability: 'rename only, no fsync (not durable)' },
];

const options = parseOptions(process.argv.slice(2));
const started = performance.now();
const log = (message) => {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${message}\n`);
};

// ---------------------------------------------------------------------------------------------
// Running

function parseOptions(argv) {
  const parsed = { quick: false, out: join(ROOT, 'docs', 'benchmarks.md'), only: SECTIONS };
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k];
    if (arg === '--quick') parsed.quick = true;
    else if (arg === '--out') parsed.out = resolve(requireValue(argv, ++k, '--out'));
    else if (arg === '--only') {
      const wanted = requireValue(argv, ++k, '--only').split(',');
      const unknown = wanted.filter((name) => !SECTIONS.includes(name));
      if (unknown.length > 0) usage(`unknown section(s) ${unknown.join(', ')}`);
      parsed.only = SECTIONS.filter((name) => wanted.includes(name));
    } else if (arg === '--help' || arg === '-h') usage();
    else usage(`unknown argument '${arg}'`);
  }
  return parsed;
}

function requireValue(argv, k, flag) {
  if (argv[k] === undefined || argv[k].startsWith('--')) usage(`${flag} needs a value`);
  return argv[k];
}

function usage(problem) {
  const text = `Usage: pnpm bench [--quick] [--out FILE] [--only ${SECTIONS.join(',')}]`;
  if (problem) {
    process.stderr.write(`bench: ${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

/** Builds the workspace when a package's dist is missing (a fresh clone, or after a clean). */
function ensureBuilt() {
  const missing = DISTS.filter((dir) => !existsSync(join(ROOT, dir, 'dist', 'index.js')));
  if (missing.length === 0) return;
  log(`missing builds (${missing.join(', ')}): pnpm exec turbo run build`);
  const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', process.stderr, process.stderr],
  });
  const still = DISTS.filter((dir) => !existsSync(join(ROOT, dir, 'dist', 'index.js')));
  if (build.status !== 0 || still.length > 0) {
    process.stderr.write(`bench: the build failed (exit ${build.status}); nothing was measured\n`);
    process.exit(1);
  }
}

function importRoot(path) {
  return import(pathToFileURL(join(ROOT, path)).href);
}

/** Runs a slow section, printing a heartbeat so a silent minute is not mistaken for a hang. */
async function withHeartbeat(label, work) {
  const timer = setInterval(() => log(`${label}: still running`), 20_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

const RUNNERS = {
  async writes() {
    const bench = await importRoot('packages/atomic-store/bench/writes.bench.mjs');
    // A burst of 1,000 writes through write-file-atomic or atomically fsyncs 1,000 times: seconds
    // per sample. Quick runs compare bursts with steno only, which the goal is stated against.
    const burstContenders = options.quick
      ? ['steno']
      : ['write-file-atomic', 'atomically', 'steno'];
    log(
      `writes: 1 KiB, 100 KiB, 4 MiB; one-by-one and bursts of 1,000 (${options.quick ? 'under 20 s' : 'about 2 minutes'})`,
    );
    const report = await withHeartbeat('writes', () =>
      bench.run({ quick: options.quick, burstContenders }),
    );
    return { ...report, versions: writerVersions() };
  },
  async backlog() {
    const bench = await importRoot('bench/backlog.bench.mjs');
    return bench.run({ quick: options.quick, log: (message) => log(`backlog: ${message}`) });
  },
  async shutdown() {
    const bench = await importRoot('bench/shutdown.bench.mjs');
    return bench.run({ quick: options.quick, log: (message) => log(`shutdown: ${message}`) });
  },
  async cli() {
    const bench = await importRoot('bench/cli-startup.bench.mjs');
    return bench.run({ quick: options.quick, log: (message) => log(`cli: ${message}`) });
  },
  async pipeline() {
    const bench = await importRoot('bench/pipeline-run.bench.mjs');
    return bench.run({ quick: options.quick, log: (message) => log(`pipeline: ${message}`) });
  },
  async runner() {
    // In a process of its own: a spawn forks this process, and the time a fork takes grows with the
    // memory the other sections left behind (100,000-subtask backlogs), which would inflate both
    // sides of the ratio with a cost that neither the runner nor the bare loop has in a real run.
    // Its progress lines reach stderr as it goes; the result comes as JSON on stdout.
    const args = ['bench/runner.bench.mjs', '--json', ...(options.quick ? ['--quick'] : [])];
    const child = spawnSync(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', process.stderr],
      encoding: 'utf8',
    });
    if (child.status !== 0) throw new Error(`bench/runner.bench.mjs exited ${child.status}`);
    return JSON.parse(child.stdout);
  },
  async postgres() {
    const bench = await importRoot('packages/store-postgres/bench/claims.bench.mjs');
    const report = await withHeartbeat('postgres', () =>
      bench.run({ quick: options.quick, log: (message) => log(`postgres: ${message}`) }),
    );
    if (report.skipped) log(`postgres: SKIPPED: ${report.skipped}`);
    return report;
  },
  async packages() {
    // The package benchmarks that repeat the 10,000-subtask case of the backlog section with their
    // own settings are left out of a quick run to stay within a minute; the short ones stay in.
    const reports = [];
    for (const [label, path, short] of [
      ['@savepoint/atomic-store appends', 'packages/atomic-store/bench/appends.bench.mjs', true],
      ['@savepoint/task-schema', 'packages/task-schema/bench/backlog.bench.mjs', false],
      ['@savepoint/session', 'packages/session/bench/session.bench.mjs', false],
    ]) {
      if (options.quick && !short) continue;
      log(`packages: ${path}`);
      const bench = await importRoot(path);
      reports.push({
        label,
        path,
        report: await withHeartbeat(label, () => bench.run({ quick: options.quick })),
      });
    }
    return { reports, quick: options.quick };
  },
};

function writerVersions() {
  const versions = {};
  for (const name of ['write-file-atomic', 'atomically', 'steno']) {
    const file = join(ROOT, 'packages', 'atomic-store', 'node_modules', name, 'package.json');
    versions[name] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : null;
  }
  return versions;
}

// ---------------------------------------------------------------------------------------------
// The machine

function describeMachine(benchDir) {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    fileSystem: fileSystemOf(benchDir),
    commit: gitCommit(),
  };
}

/** The file system type of `dir`: the longest mount point containing it in /proc/mounts. */
function fileSystemOf(dir) {
  const real = realpathSync(dir);
  try {
    let best = null;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, rawPoint, type, mountOptions] = line.split(' ');
      if (!rawPoint) continue;
      const point = rawPoint.replace(/\\([0-7]{3})/g, (_, octal) =>
        String.fromCharCode(Number.parseInt(octal, 8)),
      );
      const inside = point === '/' || real === point || real.startsWith(`${point}/`);
      if (inside && (best === null || point.length >= best.point.length)) {
        best = { point, device, type, mountOptions };
      }
    }
    if (best) {
      return {
        dir: real,
        type: best.type,
        source: `/proc/mounts: ${best.device} on ${best.point} (${best.mountOptions})`,
      };
    }
  } catch {
    // No /proc (macOS, BSD): ask stat instead.
  }
  try {
    const type = execFileSync('stat', ['-f', '-c', '%T', real], { encoding: 'utf8' }).trim();
    return { dir: real, type, source: 'stat -f -c %T' };
  } catch {
    return { dir: real, type: 'unknown', source: 'neither /proc/mounts nor stat -f answered' };
  }
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Goals

/**
 * The goals stated in the issues, each with the measured figure and whether it was met. A goal
 * whose section did not run is left out.
 */
function evaluateGoals(all) {
  const goals = [];
  const writes = all.writes;
  if (writes) {
    for (const size of ['1 KiB', '100 KiB', '4 MiB']) {
      const floor = writeRatio(writes, `one-by-one ${size}`, 'hand-written floor');
      goals.push(
        goal('issue 4', `one-by-one ${size}: atomic-store ÷ hand-written floor`, floor, 1.2),
      );
      const wfa = writeRatio(writes, `one-by-one ${size}`, 'write-file-atomic');
      goals.push(goal('issue 4', `one-by-one ${size}: atomic-store ÷ write-file-atomic`, wfa, 1.0));
    }
    for (const size of ['1 KiB', '100 KiB', '4 MiB']) {
      const steno = writeRatio(writes, `burst ${size}`, 'steno');
      goals.push(goal('issue 4', `burst of 1,000 ${size}: atomic-store ÷ steno`, steno, 2.0));
    }
  }
  const backlog = all.backlog;
  if (backlog) {
    for (const row of backlog.rows) {
      goals.push(
        goal(
          'issue 5',
          `flushUpdates() ÷ JSON.stringify + durable write, ${count(row.size)} subtasks`,
          row.flush.session.medianMs / row.flush.floor.medianMs,
          1.3,
        ),
      );
    }
    const reference = backlog.rows.find((row) => row.size === 10_000) ?? backlog.rows.at(-1);
    goals.push(
      goal(
        'issue 3',
        `parseBacklog ÷ JSON.parse, ${count(reference.size)} subtasks`,
        reference.parse.parseBacklog.medianMs / reference.parse.jsonParse.medianMs,
        null,
      ),
    );
    goals.push(
      goal(
        'issue 3',
        `naive deep-copy-and-scan update ÷ updateItemStatus, per update, ${count(reference.size)} subtasks`,
        reference.updates.naive.medianMs / reference.updates.index.medianMs,
        null,
        'x',
        'no numeric goal: how many times faster the index is',
      ),
    );
    const first = backlog.rows[0];
    const last = backlog.rows.at(-1);
    if (backlog.rows.length >= 2) {
      const updateK = exponent(
        first.size,
        first.updates.index.medianMs,
        last.size,
        last.updates.index.medianMs,
      );
      goals.push(
        goal(
          'issue 9',
          `update cost is flat: k in time ∝ subtasks^k, ${count(first.size)} to ${count(last.size)} subtasks`,
          updateK,
          0.15,
          '',
          'k ≤ 0.15 (flat)',
        ),
      );
      const before = backlog.rows.at(-2);
      const flushK = exponent(
        before.size,
        before.flush.session.medianMs,
        last.size,
        last.flush.session.medianMs,
      );
      goals.push(
        goal(
          'issue 9',
          `flush cost is linear: k in time ∝ subtasks^k, ${count(before.size)} to ${count(last.size)} subtasks`,
          flushK,
          1.15,
          '',
          'k ≤ 1.15 (linear, not worse)',
        ),
      );
    }
  }
  const runner = all.runner;
  if (runner) {
    goals.push(
      goal(
        'issue 13',
        `runner with --exec true ÷ bare loop of /bin/sh -c true, ${count(runner.overhead.subtasks)} subtasks`,
        runner.overhead.ratio,
        1.3,
      ),
    );
    for (const row of runner.concurrency.filter((r) => r.level > 1)) {
      goals.push(
        goal(
          'issue 13',
          `speed-up at concurrency ${row.level}, 200 ms worker (ideal ${fixed(row.ideal, 2)}x)`,
          row.speedUp,
          null,
        ),
      );
    }
  }
  const session = all.packages?.reports?.find((entry) => entry.label === '@savepoint/session');
  if (session) {
    const r = session.report.ratios ?? {};
    const at = (value) => (typeof value === 'number' ? value : null);
    const flushSpeedup = at(r.oldFlushOverFlush_10000);
    goals.push(
      goal(
        'issue 12',
        'old flush (stringify + durable replace) ÷ flushUpdates() after 1 change, 10,000 subtasks',
        flushSpeedup,
        null,
        'x',
        '≥ 100x',
      ),
    );
    goals.at(-1).met = flushSpeedup === null ? null : flushSpeedup >= 100;
    goals.push(
      goal(
        'issue 12',
        'flushUpdates() after 1 change: 100,000 ÷ 1,000 subtasks, the sizes in turn',
        at(r.flushGrowth1kTo100k),
        1.5,
      ),
    );
    goals.push(
      goal(
        'issue 12',
        "flush of 1,000 changes ÷ one fsync'd append of the same bytes",
        at(r.batchFlushOverAppend),
        3,
      ),
    );
    goals.push(
      goal(
        'issue 12',
        'load with a 10,000-record journal ÷ the snapshot alone',
        at(r.loadJournalOverSnapshot),
        1.5,
      ),
    );
    goals.push(
      goal('issue 12', 'compaction ÷ stringify + durable replace', at(r.compactOverFloor), 1.3),
    );
    goals.push(
      goal(
        'issue 12',
        'SIGTERM to exit (1,000 pending, 10,000 subtasks) ÷ `node -e 0`',
        at(r.sigtermOverBareNode),
        null,
      ),
    );
    const rate = at(r.cliSubtasksPerSecond);
    goals.push(
      goal(
        'issue 12',
        'CLI --simulate 0 on 100,000 subtasks, subtasks per second',
        rate,
        null,
        '/s',
        '≥ 100/s',
      ),
    );
    goals.at(-1).met = rate === null ? null : rate >= 100;
  }
  goals.push(...postgresGoals(all.postgres));
  return goals;
}

function postgresGoals(postgres) {
  if (!postgres || postgres.skipped) return [];
  const goals = postgres.throughput.map((row) => ({
    source: 'issue 15',
    what: `claim + complete throughput, ${row.workers} worker(s): store ÷ hand-written SQL loop`,
    value: row.ratio,
    unit: 'x',
    target: '≥ 0.8x',
    met: row.ratio >= 0.8,
  }));
  goals.push(
    goal('issue 15', 'NOTIFY wake-up latency, median', postgres.wake.medianMs, null, ' ms'),
    goal('issue 15', 'NOTIFY wake-up latency, p95', postgres.wake.p95Ms, null, ' ms'),
  );
  return goals;
}

function goal(source, what, value, limit, unit = 'x', target = undefined) {
  const met = limit === null || value === null ? null : value <= limit;
  return {
    source,
    what,
    value,
    unit,
    target: target ?? (limit === null ? 'no numeric goal' : `≤ ${limit}${unit}`),
    met,
  };
}

function writeRatio(writes, caseName, contender) {
  const ours = writes.results.find((row) => row.case === caseName && row.name === 'atomic-store');
  const other = writes.results.find((row) => row.case === caseName && row.name === contender);
  return ours && other ? ours.medianMs / other.medianMs : null;
}

/** k in t ∝ n^k between two sizes: 0 is flat, 1 linear. */
function exponent(n1, t1, n2, t2) {
  return Math.log(t2 / t1) / Math.log(n2 / n1);
}

// ---------------------------------------------------------------------------------------------
// Markdown

function renderMarkdown({ results, goals, machine, durationS }) {
  const command = `pnpm bench${options.quick ? ' --quick' : ''}`;
  const out = [];
  out.push('# Benchmarks', '');
  out.push(
    `Written by \`${command}\` (\`scripts/bench.mjs\`) on ${new Date().toISOString()}` +
      `${machine.commit ? ` at commit \`${machine.commit}\`` : ''}; the run took ${seconds(durationS)}. ` +
      'Every figure below comes from that run: run the command again to regenerate this file.',
    '',
  );
  out.push(
    'Each time is the median of repeated runs, with the fastest and slowest run in brackets and the ' +
      'number of runs as n. Ratios divide medians: below 1x means faster than the other side. ' +
      'Absolute times on a shared machine are noisy; the ratios, measured side by side in the same ' +
      'process run, are the result.',
    '',
  );
  out.push('## Machine', '');
  out.push(
    table(
      ['', ''],
      [
        ['CPU', `${machine.cores} x ${machine.cpu}`],
        ['Memory', `${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB`],
        ['OS', machine.os],
        ['Node', machine.node],
        [
          'Benchmark files',
          `${machine.fileSystem.dir}: ${machine.fileSystem.type} (${machine.fileSystem.source})`,
        ],
        [
          'Load average (1, 5, 15 min)',
          `${machine.loadBefore.map((v) => v.toFixed(2)).join(', ')} at the start; ${machine.loadAfter.map((v) => v.toFixed(2)).join(', ')} at the end`,
        ],
        ['Mode', options.quick ? 'quick (fewer samples, no 100,000-subtask backlog)' : 'full'],
      ],
    ),
    '',
  );

  if (goals.length > 0) {
    out.push('## Goals', '');
    out.push(
      table(
        ['from', 'goal', 'measured', 'target', 'result'],
        goals.map((g) => [
          g.source,
          g.what,
          g.value === null ? 'not measured' : `${ratioText(g.value)}${g.unit}`,
          g.target,
          g.met === null ? 'reported' : g.met ? 'met' : 'not met',
        ]),
      ),
      '',
    );
  }

  if (results.writes) out.push(...renderWrites(results.writes));
  if (results.backlog) out.push(...renderBacklog(results.backlog));
  if (results.shutdown) out.push(...renderShutdown(results.shutdown));
  if (results.cli) out.push(...renderCli(results.cli));
  if (results.pipeline) out.push(...renderPipeline(results.pipeline));
  if (results.runner) out.push(...renderRunner(results.runner));
  if (results.packages) out.push(...renderPackages(results.packages));
  if (results.postgres) out.push(...renderPostgres(results.postgres));
  out.push(...renderMethod());
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function renderWrites(writes) {
  const out = ['## Durable writes', ''];
  out.push(
    `\`packages/atomic-store/bench/writes.bench.mjs\`: \`writeFileAtomic\` of @savepoint/atomic-store ` +
      `against write-file-atomic ${writes.versions['write-file-atomic']}, atomically ` +
      `${writes.versions.atomically} and steno ${writes.versions.steno}, and a hand-written durable ` +
      'replace (the floor). One-by-one: each write awaited before the next. Burst: 1,000 writes of ' +
      'the same path started at once and awaited together (the time is for all 1,000). Each ' +
      `contender's row is its best of ${options.quick ? 'one round' : 'two rounds in alternating order'}. ` +
      `Section time: ${seconds(writes.durationS)}.`,
    '',
  );
  out.push(
    table(
      ['contender', 'what it does'],
      WRITERS.map((w) => [w.name, w.durability]),
    ),
    '',
  );
  const sizes = ['1 KiB', '100 KiB', '4 MiB'];
  for (const mode of ['one-by-one', 'burst']) {
    const names = WRITERS.map((w) => w.name).filter((name) =>
      writes.results.some((row) => row.mode === mode && row.name === name),
    );
    out.push(
      `### ${mode === 'one-by-one' ? 'One-by-one writes' : 'Bursts of 1,000 writes to one path'} (ms)`,
      '',
    );
    out.push(
      table(
        ['contender', ...sizes],
        names.map((name) => [
          name,
          ...sizes.map((size) => {
            const row = writes.results.find((r) => r.case === `${mode} ${size}` && r.name === name);
            return row ? figure(row) : 'not run';
          }),
        ]),
      ),
      '',
    );
    out.push(`atomic-store ÷ each contender (${mode}):`, '');
    out.push(
      table(
        ['contender', ...sizes],
        names
          .filter((name) => name !== 'atomic-store')
          .map((name) => [
            name,
            ...sizes.map((size) => {
              const ratio = writeRatio(writes, `${mode} ${size}`, name);
              if (ratio === null) return 'not run';
              if (ratio >= 0.1) return `${fixed(ratio, 2)}x`;
              return `${sig(ratio)}x (${count(Math.round(1 / ratio))} times faster)`;
            }),
          ]),
      ),
      '',
    );
  }
  return out;
}

function renderBacklog(backlog) {
  const rows = backlog.rows;
  const out = ['## Backlog work by size', ''];
  out.push(
    '`bench/backlog.bench.mjs` on backlogs made by `packages/task-schema/bench/generate.mjs` ' +
      '(3-5 milestones a phase, 3-6 tasks a milestone, 2-6 subtasks a task, a ~1 KB four-section ' +
      '`context_scope` per subtask). Contenders take turns in short tinybench rounds in alternating ' +
      `order and their samples are pooled. Section time: ${seconds(backlog.durationS)}.`,
    '',
    '"× previous" is the growth from the previous (10x smaller) backlog: about 10 means linear, about 1 flat.',
    '',
  );
  out.push('### Reading: parse + validate vs JSON.parse', '');
  out.push(
    table(
      [
        'subtasks',
        'JSON',
        'JSON.parse ms',
        'parseBacklog ms',
        'parseBacklog ÷ JSON.parse',
        'parseBacklog per subtask',
        '× previous',
      ],
      rows.map((row, k) => [
        count(row.size),
        megabytes(row.bytes),
        figure(row.parse.jsonParse),
        figure(row.parse.parseBacklog),
        `${fixed(row.parse.parseBacklog.medianMs / row.parse.jsonParse.medianMs, 2)}x`,
        `${sig((row.parse.parseBacklog.medianMs * 1000) / row.size)} µs`,
        growth(rows, k, (r) => r.parse.parseBacklog.medianMs),
      ]),
    ),
    '',
    '`parseBacklog` parses the JSON, validates it against the zod schema and checks the graph (ids, ' +
      'dependencies, cycles); `JSON.parse` only parses.',
    '',
  );
  out.push('### Status updates: updateItemStatus vs a naive deep-copy-and-scan update', '');
  out.push(
    table(
      [
        'subtasks',
        'updateItemStatus per update',
        '× previous',
        'naive per update',
        '× previous',
        'naive ÷ updateItemStatus',
        'updates timed per sample',
      ],
      rows.map((row, k) => [
        count(row.size),
        figure(row.updates.index, 1000, 'µs'),
        growth(rows, k, (r) => r.updates.index.medianMs),
        figure(row.updates.naive, 1, 'ms'),
        growth(rows, k, (r) => r.updates.naive.medianMs),
        `${count(Math.round(row.updates.naive.medianMs / row.updates.index.medianMs))}x`,
        `${count(row.updates.batch)} / ${count(row.updates.naiveBatch)}`,
      ]),
    ),
    '',
    '`updateItemStatus` runs on an open session (SessionManager): the change goes through the ' +
      'task-schema index in O(depth) and rolls up to the ancestors; nothing is written. The naive ' +
      'update copies the whole backlog (`structuredClone`), walks it to the item, sets the status and ' +
      're-derives the ancestors with the same roll-up rule. Each sample times a batch of random ' +
      'updates (fewer for the naive one) and the figures are per update.',
    '',
  );
  out.push('### Saving: flushUpdates() vs JSON.stringify + durable write', '');
  out.push(
    table(
      [
        'subtasks',
        'tasks.json',
        'flushUpdates ms',
        'floor ms',
        'flush ÷ floor',
        'flush per subtask',
        '× previous',
        'same bytes',
      ],
      rows.map((row, k) => [
        count(row.size),
        megabytes(row.flush.bytes),
        figure(row.flush.session),
        figure(row.flush.floor),
        `${fixed(row.flush.session.medianMs / row.flush.floor.medianMs, 2)}x`,
        `${sig((row.flush.session.medianMs * 1000) / row.size)} µs`,
        growth(rows, k, (r) => r.flush.session.medianMs),
        row.flush.sameBytes ? 'yes' : 'NO',
      ]),
    ),
    '',
    'Before every timed write one status is changed (outside the timing), so each flush has something ' +
      'to write. The floor is `JSON.stringify(backlog, null, 2)` plus a hand-written temp + write + ' +
      'fsync + rename + folder fsync of those bytes; "same bytes" checks after the run that both wrote ' +
      'identical files for the same state.',
    '',
  );
  out.push('### Memory per subtask', '');
  out.push(
    table(
      [
        'subtasks',
        'tasks.json per subtask',
        'JSON.parse heap per subtask',
        'parseBacklog + index per subtask',
        'open session per subtask',
        'session ÷ JSON.parse',
      ],
      rows.map((row) => [
        count(row.size),
        `${count(Math.round(row.flush.bytes / row.size))} B`,
        bytesFigure(row.memory.plainBytesPerSubtask),
        bytesFigure(row.memory.indexedBytesPerSubtask),
        bytesFigure(row.memory.sessionBytesPerSubtask),
        `${fixed(row.memory.sessionBytesPerSubtask.median / row.memory.plainBytesPerSubtask.median, 2)}x`,
      ]),
    ),
    '',
    'Measured in a fresh `node --expose-gc --single-threaded` child (`bench/memory-child.mjs`): ' +
      '`heapUsed` after `global.gc()` with the structure alive, minus `heapUsed` after `global.gc()` ' +
      'just before it was built, divided by the number of subtasks. Each structure is built once ' +
      'unmeasured (so compiled code and lazily built tables are not counted) and then measured n ' +
      'times; `--single-threaded` keeps background compiler and GC threads from moving the figures. ' +
      '"parseBacklog + index" is `createBacklogIndex(parseBacklog(text))`; "open session" is ' +
      '`SessionManager.initialize()` resuming the session from disk (backlog, index, metadata, lock). ' +
      'The text of the file itself, held only while loading, is not counted.',
    '',
  );
  return out;
}

function renderShutdown(shutdown) {
  const rows = shutdown.rows;
  const savepoint = rows.find((row) => row.key === 'savepoint');
  const out = ['## Shutdown latency', ''];
  out.push(
    `\`bench/shutdown.bench.mjs\`: a real child process (\`bench/fixtures/shutdown-child.mjs\`) holds a ` +
      `${count(shutdown.subtasks)}-subtask backlog with ${count(shutdown.pending)} status changes not ` +
      'yet written, prints "ready" and waits; the parent sends SIGTERM and measures with ' +
      '`performance.now()` the time until the child has exited. After every run the parent reads ' +
      'the file back and checks that all pending changes are in it (and, for the session, that the ' +
      `lock file is gone). ${shutdown.runs} runs per variant, interleaved. Section time: ${seconds(shutdown.durationS)}.`,
    '',
  );
  out.push(
    table(
      ['on SIGTERM', 'exit latency ms', 'savepoint ÷ this', 'pending changes durable after exit'],
      rows.map((row) => [
        row.name,
        figure(row),
        row === savepoint ? '' : `${fixed(savepoint.medianMs / row.medianMs, 2)}x`,
        row.saves ? `${row.verifiedRuns}/${row.samples} runs` : 'no (saves nothing)',
      ]),
    ),
    '',
  );
  return out;
}

function renderCli(cli) {
  const base = cli.rows[0];
  const out = ['## CLI start-up', ''];
  out.push(
    '`bench/cli-startup.bench.mjs`: each command runs as a new process, timed with ' +
      `\`performance.now()\` from spawn to exit, ${cli.runs} times round-robin after one untimed run ` +
      `each; every run's exit code and output are checked. \`status\` reads a ` +
      `${count(cli.subtasks)}-subtask session. Section time: ${seconds(cli.durationS)}.`,
    '',
  );
  out.push(
    table(
      ['', 'command', 'wall time ms', `÷ ${base.name}`],
      cli.rows.map((row) => [
        row.name,
        `\`${row.display}\``,
        figure(row),
        `${fixed(row.medianMs / base.medianMs, 2)}x`,
      ]),
    ),
    '',
  );
  return out;
}

function renderPipeline(pipeline) {
  const [batched, eager] = pipeline.rows;
  const out = ['## Durable updates during a pipeline run', ''];
  out.push(
    `\`bench/pipeline-run.bench.mjs\`: \`savepoint run prd.md --backlog <${count(pipeline.subtasks)} subtasks> ` +
      '--exec true --progress never --json`, a fresh session each run, with the default ' +
      '`--flush subtask` (outcomes appended to the session journal, tasks.journal, in groups: at ' +
      'most one write per 20 ms) and with `--flush change` (every status change written at once; ' +
      'changes made while an append runs go into the next one). ' +
      'An observer preloaded with `node --import` (`bench/fixtures/count-writes.mjs`) counts the ' +
      "status changes, the durable appends to tasks.journal (from the session's own counters) and " +
      'the atomic replacements of tasks.json (the snapshot written when the session starts and the ' +
      'one written when it closes). "Whole run" is the process from spawn to exit; "work loop" runs ' +
      'from the first status change to the last write of tasks.json, the closing snapshot. ' +
      `${pipeline.runs} runs per mode, interleaved; ` +
      `each checked for exit 0 and every subtask Complete. Section time: ${seconds(pipeline.durationS)}.`,
    '',
  );
  // One row of counts or rates: both modes and the change ÷ subtask ratio of their medians.
  const compareRow = (label, key, format) => [
    label,
    format(batched[key]),
    format(eager[key]),
    `${fixed(eager[key].median / batched[key].median, 2)}x`,
  ];
  out.push(
    table(
      ['', ...pipeline.rows.map((row) => `\`--flush ${row.mode}\``), 'change ÷ subtask'],
      [
        [
          'whole run ms',
          figure(batched.wall),
          figure(eager.wall),
          `${fixed(eager.wall.medianMs / batched.wall.medianMs, 2)}x`,
        ],
        [
          'work loop ms',
          figure(batched.loop),
          figure(eager.loop),
          `${fixed(eager.loop.medianMs / batched.loop.medianMs, 2)}x`,
        ],
        ['status changes', plain(batched.statusChanges), plain(eager.statusChanges), ''],
        compareRow('durable appends to tasks.journal', 'journalAppends', plain),
        compareRow('writes of tasks.json', 'tasksJsonWrites', plain),
        compareRow('subtasks/s (whole run)', 'subtasksPerSecond', rate),
        compareRow('status changes durable/s (whole run)', 'statusChangesPerSecond', rate),
        compareRow('journal appends/s (whole run)', 'appendsPerSecond', rate),
        compareRow('subtasks/s (work loop)', 'loopSubtasksPerSecond', rate),
        compareRow('journal appends/s (work loop)', 'loopAppendsPerSecond', rate),
      ],
    ),
    '',
    "With `--flush subtask` every status change is durable too, in batches: a subtask's changes are " +
      'written together once it ends, with those of every other subtask that ended in the same ' +
      '20 ms. With `--flush change` each claim and each outcome starts an append at once.',
    '',
  );
  return out;
}

function renderRunner(runner) {
  const { overhead } = runner;
  return [
    '## Runner: overhead per subtask and concurrency',
    '',
    "`bench/runner.bench.mjs`, in a process of its own (a fork takes longer in a process whose heap other sections have grown). Overhead: `createRunner` with `commandWorker('true')` " +
      `at concurrency 1 over ${count(overhead.subtasks)} independent subtasks of a fresh session (claim, ` +
      'item file, attempt log that the command writes itself, process-group record, durable outcome ' +
      'appended to the session journal while the next subtask starts, one write for the outcomes ' +
      'of up to 20 ms: the default groupCommitMs) against a bare loop ' +
      `that spawns \`/bin/sh -c true\` as many times; ${overhead.rounds} rounds, interleaved` +
      (overhead.load
        ? ` (1-minute load average ${fixed(overhead.load.before, 2)} before, ${fixed(overhead.load.after, 2)} after, on ${os.availableParallelism()} cores)`
        : '') +
      (overhead.createMs
        ? `; creating an empty file in the bench folder took ${fixed(overhead.createMs.before, 3)} ms before the rounds and ${fixed(overhead.createMs.after, 3)} ms after (median of 100; each attempt creates two, the bare loop none)`
        : '') +
      '. Speed-up: ' +
      `${runner.sleepers} independent subtasks whose worker is \`sleep 0.2\`. Section time: ${seconds(runner.durationS)}.`,
    '',
    table(
      ['', 'whole run ms', 'ms per subtask'],
      [
        ['runner, `--exec true`', figure(overhead.runner), fixed(overhead.perSubtaskMs.runner, 2)],
        [
          'bare `/bin/sh -c true` loop',
          figure(overhead.bare),
          fixed(overhead.perSubtaskMs.bare, 2),
        ],
        ['runner ÷ bare', `${fixed(overhead.ratio, 2)}x`, ''],
        ...(overhead.pairedRatio === undefined
          ? []
          : [
              [
                'median of each round ÷ the bare loop beside it',
                `${fixed(overhead.pairedRatio, 2)}x`,
                '',
              ],
            ]),
      ],
    ),
    '',
    table(
      ['concurrency', 'whole run ms', 'speed-up', 'ideal'],
      runner.concurrency.map((row) => [
        row.level,
        figure(row.wall),
        `${fixed(row.speedUp, 2)}x`,
        `${fixed(row.ideal, 2)}x`,
      ]),
    ),
    '',
  ];
}

function renderPackages(packages) {
  const out = ['## Package benchmarks', ''];
  if (packages.skipped) {
    out.push(`The packages' own benchmarks were ${packages.skipped}.`, '');
    return out;
  }
  out.push(
    "Each package's own benchmark module, run through its exported `run()` in this process with its " +
      'default settings (the task-schema and session ones measure 10,000-subtask backlogs' +
      `${packages.quick ? ' and are left out of quick runs' : ''}). Section time: ${seconds(packages.durationS)}.`,
    '',
  );
  for (const { label, path, report } of packages.reports) {
    out.push(`### ${label}: \`${path}\``, '');
    const rows = (report.results ?? []).filter((row) => typeof row.medianMs === 'number');
    if (rows.length > 0) {
      out.push(
        table(
          ['case', 'median ms (min–max)'],
          rows.map((row) => [row.name, figure(row)]),
        ),
        '',
      );
    }
    const ratios = Object.entries(report.ratios ?? {}).filter(
      ([, value]) => typeof value === 'number',
    );
    if (ratios.length > 0) {
      out.push(
        table(
          ['figure', 'value'],
          ratios.map(([key, value]) => [key, sig(value)]),
        ),
        '',
      );
    }
  }
  return out;
}

function renderPostgres(postgres) {
  const out = ['## Claims on PostgreSQL', ''];
  if (postgres.skipped) {
    out.push(`Skipped: ${postgres.skipped}.`, '');
    return out;
  }
  out.push(
    '`packages/store-postgres/bench/claims.bench.mjs` on a throwaway PostgreSQL ' +
      `${postgres.server} cluster (default durability: fsync on) on 127.0.0.1. Throughput: workers ` +
      'in one process claim and complete subtasks until none is left (tasks of 10 subtasks, every ' +
      "other one waiting for the one before it), through the store's claims and through a " +
      'hand-written loop of the same two statements (the claim `UPDATE` and the outcome function) ' +
      'on the same pool; a worker that finds nothing ready checks (one statement, the same for ' +
      'both) whether subtasks are still to be done and tries again, so all workers stay to the ' +
      'end; a fresh session each run, contenders alternating, 7 rounds. Section time: ' +
      `${seconds(postgres.durationS)}.`,
    '',
  );
  out.push(
    table(
      ['workers', 'store subtasks/s', 'hand-written subtasks/s', 'store ÷ hand-written'],
      postgres.throughput.map((row) => [
        row.workers,
        rate(row.store),
        rate(row.hand),
        `${fixed(row.ratio, 2)}x`,
      ]),
    ),
    '',
  );
  const wake = postgres.wake;
  out.push(
    `Wake-up latency, ${wake.samples} samples: a worker waits (its poll interval is 10 minutes, so ` +
      'only a notification wakes it in time) for a subtask whose dependency another worker holds; ' +
      'measured from the call that records the dependency Complete until the waiting worker holds ' +
      `the subtask: median ${sig(wake.medianMs)} ms, p95 ${sig(wake.p95Ms)} ms ` +
      `(min ${sig(wake.minMs)}, max ${sig(wake.maxMs)}).`,
    '',
  );
  return out;
}

function renderMethod() {
  return [
    '## Method',
    '',
    '- Harness: tinybench for everything measured inside this process. Timing whole processes ' +
      '(start-up, shutdown, pipeline runs) uses `performance.now()` around real runs instead, ' +
      'reported as median, min and max.',
    '- Every comparison runs side by side in one `node` process (child processes for the ' +
      'process-level measurements), with the contenders interleaved where the benchmark allows it.',
    '- The durable-write floor is the same in every section: exclusive temp file, every byte written, ' +
      'fsync, close, rename over the target, fsync of the folder.',
    '- Benchmarks never run in `pnpm test`: vitest only collects `src/**/*.test.ts` and `test/**/*.test.ts`.',
    '',
  ];
}

function renderGoalsText(goals) {
  const lines = ['Goals:'];
  for (const g of goals) {
    const value = g.value === null ? 'not measured' : `${ratioText(g.value)}${g.unit}`;
    const verdict = g.met === null ? 'reported' : g.met ? 'met' : 'NOT MET';
    lines.push(`  [${g.source}] ${g.what}: ${value} (${g.target}) ${verdict}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Formatting

function table(headers, rows) {
  const cellText = (cell) => String(cell).replace(/\|/g, '\\|');
  return [
    `| ${headers.map(cellText).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cellText).join(' | ')} |`),
  ].join('\n');
}

/** "median (min–max), n=…" of a time summary, scaled from milliseconds to `unit`. */
function figure(summary, scale = 1, unit = '') {
  const suffix = unit ? ` ${unit}` : '';
  return `${sig(summary.medianMs * scale)}${suffix} (${sig(summary.minMs * scale)}–${sig(summary.maxMs * scale)}), n=${summary.samples}`;
}

function bytesFigure(stats) {
  const range =
    stats.samples > 1
      ? ` (${count(Math.round(stats.min))}–${count(Math.round(stats.max))}), n=${stats.samples}`
      : ', n=1';
  return `${count(Math.round(stats.median))} B${range}`;
}

function plain(stats) {
  return stats.min === stats.max
    ? count(stats.median)
    : `${count(stats.median)} (${count(stats.min)}–${count(stats.max)})`;
}

function rate(stats) {
  return `${sig(stats.median)} (${sig(stats.min)}–${sig(stats.max)})`;
}

function growth(rows, k, pick) {
  if (k === 0) return '';
  return `${fixed(pick(rows[k]) / pick(rows[k - 1]), 2)}x`;
}

/** Three significant digits (whole numbers with separators from 1,000 up). */
function sig(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return count(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** Two decimals, or a whole number with separators once the decimals stop meaning anything. */
function ratioText(value) {
  return Math.abs(value) >= 100 ? count(Math.round(value)) : value.toFixed(2);
}

function fixed(value, digits) {
  return value.toFixed(digits);
}

function count(value) {
  return value.toLocaleString('en-US');
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1)} MB`;
}

function seconds(value) {
  return value === undefined ? 'n/a' : `${value.toFixed(1)} s`;
}

/** Builds if needed, runs the sections, writes the Markdown and prints the goals. */
async function main() {
  ensureBuilt();
  const lib = await importRoot('bench/lib.mjs');
  const machine = describeMachine(lib.benchBaseDir());
  machine.loadBefore = os.loadavg();
  log(
    `${options.quick ? 'quick' : 'full'} run on ${machine.cores} x ${machine.cpu}, Node ${process.version}, ` +
      `${machine.fileSystem.type} at ${machine.fileSystem.dir}`,
  );

  const results = {};
  for (const section of options.only) {
    const sectionStarted = performance.now();
    log(`== ${section}`);
    results[section] = await RUNNERS[section]();
    results[section].durationS = (performance.now() - sectionStarted) / 1000;
    log(`== ${section} done in ${results[section].durationS.toFixed(1)} s`);
  }
  machine.loadAfter = os.loadavg();

  const durationS = (performance.now() - started) / 1000;
  const goals = evaluateGoals(results);
  const markdown = renderMarkdown({ results, goals, machine, durationS });
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, markdown);
  log(
    `wrote ${relative(process.cwd(), options.out) || options.out} (${durationS.toFixed(1)} s in all)`,
  );
  process.stdout.write(`${renderGoalsText(goals)}\nTotal: ${durationS.toFixed(1)} s\n`);
}

await main();
