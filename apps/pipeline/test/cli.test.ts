import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APP_DIR,
  items,
  makePrd,
  readLines,
  readTasks,
  runCli,
  sessionDirs,
  startCli,
  subtasks,
  tempDir,
  waitFor,
} from './helpers.ts';

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

function workspace() {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const prd = join(temp.dir, 'prd.md');
  const log = join(temp.dir, 'worker.log');
  const plan = join(temp.dir, 'plan');
  return { dir: temp.dir, prd, log, plan };
}

const IN_FLIGHT = ['Researching', 'Implementing', 'Retrying'];

describe('savepoint run', () => {
  it('runs every subtask in dependency order and rolls parents up to Complete', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 3));
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--exec',
        `echo "$SAVEPOINT_ITEM_ID $SAVEPOINT_ATTEMPT" >> "${w.log}"`,
        '--json',
      ],
      w.dir,
    );
    expect(result.stderr).not.toMatch(/unexpected error/);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim());
    expect(summary).toMatchObject({
      total: 6,
      completed: 6,
      failed: 0,
      remaining: 0,
      percentage: 100,
    });
    expect(readLines(w.log)).toEqual([
      'P1.M1.T1.S1 1',
      'P1.M1.T1.S2 1',
      'P1.M1.T1.S3 1',
      'P2.M1.T1.S1 1',
      'P2.M1.T1.S2 1',
      'P2.M1.T1.S3 1',
    ]);
    const [session] = sessionDirs(w.plan);
    expect(session).toMatch(/001_[0-9a-f]{12}$/);
    const tasks = readTasks(session!);
    expect(items(tasks).every((item) => item.status === 'Complete')).toBe(true);
    expect(tasks.currentItemId).toBeNull();
    expect(readFileSync(join(session!, 'prd_snapshot.md'), 'utf8')).toBe(makePrd(2, 3));
    expect(readFileSync(join(session!, 'tasks.json'), 'utf8').endsWith('}\n')).toBe(true);

    const status = await runCli(['status', '--plan-dir', w.plan, '--json'], w.dir);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      session: session!.split('/').pop(),
      total: 6,
      completed: 6,
      failed: 0,
      remaining: 0,
      percentage: 100,
      currentItemId: null,
      byStatus: { Complete: 6, Planned: 0 },
    });

    // The same PRD again resumes the finished session and runs nothing.
    const again = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', `echo again >> "${w.log}"`],
      w.dir,
    );
    expect(again.code).toBe(0);
    expect(readLines(w.log)).toHaveLength(6);
    expect(sessionDirs(w.plan)).toHaveLength(1);
  });

  it('uses the built-in simulator by default and prints plain progress lines without a terminal', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    const result = await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '10'], w.dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Done\. Progress: 3\/3 complete \(100\.0%\)/);
    // eslint-disable-next-line no-control-regex
    expect(result.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`stops on ${signal} with exit ${code}, saves, and resume never repeats Complete work`, async () => {
      const w = workspace();
      writeFileSync(w.prd, makePrd(2, 4));
      const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 0.15`;
      const first = startCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
      await waitFor(() => readLines(w.log).length >= 3, 60_000, 'three subtasks to start');
      first.child.kill(signal);
      const stopped = await first.result;
      expect(stopped.code, stopped.stderr).toBe(code);
      expect(stopped.stdout).toMatch(/Interrupted\. Progress: \d+\/8 complete/);

      const [session] = sessionDirs(w.plan);
      const tasks = readTasks(session!);
      const statuses = subtasks(tasks).map((s) => s.status);
      expect(statuses.some((s) => IN_FLIGHT.includes(s))).toBe(false);
      const completeBefore = subtasks(tasks)
        .filter((s) => s.status === 'Complete')
        .map((s) => s.id);
      expect(completeBefore.length).toBeGreaterThanOrEqual(2);
      const linesBefore = readLines(w.log).length;

      const resumed = await runCli(['resume', '--plan-dir', w.plan, '--exec', worker], w.dir);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(subtasks(readTasks(session!)).every((s) => s.status === 'Complete')).toBe(true);
      const after = readLines(w.log).slice(linesBefore);
      for (const id of completeBefore) expect(after).not.toContain(id);
      expect(new Set(readLines(w.log)).size).toBe(8);
    });
  }

  it('exits at once on a second SIGINT after a synchronous flush', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    // The worker ignores SIGTERM (its `sleep` inherits the ignored signal), so a clean stop would
    // wait out the 3 s grace period before it kills it. The shell itself notes the SIGTERM in
    // `stops`: the sign that the first SIGINT has been handled. Traps are set before the log line
    // that the test waits for, so no SIGTERM can come before them.
    const stops = join(w.dir, 'stops');
    const pidFile = join(w.dir, 'worker.pid');
    const worker = [
      `echo $$ > "${pidFile}"`,
      'trap "" TERM',
      'sleep 20 &',
      `trap 'echo TERM >> "${stops}"' TERM`,
      `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"`,
      'wait',
      'wait',
    ].join('\n');
    const run = startCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
    try {
      await waitFor(() => readLines(w.log).length >= 1, 60_000, 'the first subtask to start');
      const firstAt = Date.now();
      run.child.kill('SIGINT');
      await waitFor(() => existsSync(stops), 60_000, 'the worker to be asked to stop');
      // A person's second Ctrl-C comes later than the 500 ms in which a signal counts as passed
      // on by a parent process (pnpm, npm) rather than as a second one: that window is defined in
      // time, so this one wait is on the clock.
      const wait = 700 - (Date.now() - firstAt);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      run.child.kill('SIGINT');
      const result = await run.result;
      expect(result.code).toBe(130);
      // The forced path says so; a clean stop would have waited out the worker's grace period.
      expect(result.stderr).toContain('forcing the exit');
      const [session] = sessionDirs(w.plan);
      const tasks = readTasks(session!);
      expect(subtasks(tasks).map((s) => s.status)).toEqual(['Planned', 'Planned', 'Planned']);
    } finally {
      // The forced exit SIGKILLs the worker's group; make sure of it even when an assertion failed.
      try {
        process.kill(-Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('creates a delta session for a changed PRD and carries over unchanged Complete subtasks', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"`;
    expect((await runCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir)).code).toBe(
      0,
    );
    const changed = `${makePrd(1, 3).replace('- step 1.2', '- step 1.2 revised')}\n## Phase 2\n\n- brand new\n`;
    writeFileSync(w.prd, changed);
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', worker, '--json'],
      w.dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const dirs = sessionDirs(w.plan);
    expect(dirs).toHaveLength(2);
    expect(dirs[1]).toMatch(/002_[0-9a-f]{12}$/);
    expect(readFileSync(join(dirs[1]!, 'parent_session.txt'), 'utf8').trim()).toBe(
      dirs[0]!.split('/').pop(),
    );
    expect(readFileSync(join(dirs[1]!, 'prd_snapshot.md'), 'utf8')).toBe(changed);
    // S1 and S3 kept their id and title; S2 changed title; P2 is new.
    expect(readLines(w.log).slice(3)).toEqual(['P1.M1.T1.S2', 'P2.M1.T1.S1']);

    const list = await runCli(['sessions', '--plan-dir', w.plan, '--json'], w.dir);
    const sessions = JSON.parse(list.stdout).sessions;
    expect(
      sessions.map((s: { sequence: number; parent: string | null }) => [s.sequence, s.parent]),
    ).toEqual([
      [1, null],
      [2, dirs[0]!.split('/').pop()],
    ]);
  });

  it('refuses a second run on a session that is in use with exit 3', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    // The first run's worker sleeps until the test stops it, so the first run holds the session
    // for as long as the second one needs to start and be refused, however slow the machine.
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 60`;
    const first = startCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
    await waitFor(() => readLines(w.log).length >= 1, 60_000, 'the first run to start work');
    const second = await runCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(String(first.child.pid));
    first.child.kill('SIGINT');
    expect((await first.result).code).toBe(130);
    expect(sessionDirs(w.plan)).toHaveLength(1);
  });

  it('retries a failing worker, marks it Failed, blocks only its dependants and writes ERROR_REPORT.md', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 3));
    const worker = `echo "$SAVEPOINT_ITEM_ID $SAVEPOINT_ATTEMPT" >> "${w.log}"; if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S2 ]; then echo "boom on $SAVEPOINT_ATTEMPT" >&2; exit 7; fi`;
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', worker, '--retries', '2', '--json'],
      w.dir,
    );
    expect(result.code).toBe(1);
    expect(readLines(w.log)).toEqual([
      'P1.M1.T1.S1 1',
      'P1.M1.T1.S2 1',
      'P1.M1.T1.S2 2',
      'P1.M1.T1.S2 3',
      'P2.M1.T1.S1 1',
      'P2.M1.T1.S2 1',
      'P2.M1.T1.S3 1',
    ]);
    const [session] = sessionDirs(w.plan);
    const byId = Object.fromEntries(subtasks(readTasks(session!)).map((s) => [s.id, s.status]));
    expect(byId).toMatchObject({
      'P1.M1.T1.S1': 'Complete',
      'P1.M1.T1.S2': 'Failed',
      'P1.M1.T1.S3': 'Planned',
      'P2.M1.T1.S3': 'Complete',
    });
    const report = readFileSync(join(session!, 'ERROR_REPORT.md'), 'utf8');
    expect(report).toContain('P1.M1.T1.S2');
    expect(report).toContain('Attempts: 3');
    expect(report).toContain('Exit code: 7');
    expect(report).toContain('boom on 3');
    expect(report).toMatch(/P1\.M1\.T1\.S3: waits on P1\.M1\.T1\.S2/);
    expect(JSON.parse(result.stdout)).toMatchObject({
      failed: 1,
      completed: 4,
      blocked: ['P1.M1.T1.S3'],
    });
  });

  it('writes TEST_RESULTS.md when the QA command fails', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--simulate',
        '1',
        '--qa',
        'echo "2 tests failed"; exit 4',
      ],
      w.dir,
    );
    expect(result.code).toBe(1);
    const [session] = sessionDirs(w.plan);
    const report = readFileSync(join(session!, 'TEST_RESULTS.md'), 'utf8');
    expect(report).toContain('2 tests failed');
    expect(report).toContain('Exit code: 4');
  });

  it('limits a run to --scope', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 2));
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"`;
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', worker, '--scope', 'P2'],
      w.dir,
    );
    expect(result.code).toBe(0);
    expect(readLines(w.log)).toEqual(['P2.M1.T1.S1', 'P2.M1.T1.S2']);
  });
});

describe('bad input', () => {
  function expectNothingWritten(plan: string) {
    expect(existsSync(plan) ? readdirSync(plan).filter((n) => !n.startsWith('.')) : []).toEqual([]);
  }

  it('a missing PRD: exit 2 naming the file', async () => {
    const w = workspace();
    const result = await runCli(['run', join(w.dir, 'nope.md'), '--plan-dir', w.plan], w.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(w.dir, 'nope.md'));
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expectNothingWritten(w.plan);
  });

  it('a backlog that is not valid JSON: exit 2 naming the file, line and column', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 1));
    const backlog = join(w.dir, 'tasks.json');
    writeFileSync(backlog, '{\n  "backlog": [\n    {,\n  ]\n}\n');
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--backlog', backlog, '--simulate', '1'],
      w.dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(backlog);
    expect(result.stderr).toMatch(/line 3/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expectNothingWritten(w.plan);
  });

  it('a backlog with a dependency cycle: exit 2 with the cycle', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 1));
    const backlog = join(w.dir, 'tasks.json');
    const sub = (n: number, dep: number) => ({
      type: 'Subtask',
      id: `P1.M1.T1.S${n}`,
      title: `s${n}`,
      status: 'Planned',
      story_points: 1,
      dependencies: [`P1.M1.T1.S${dep}`],
      context_scope: 'x',
    });
    const tree = {
      backlog: [
        {
          type: 'Phase',
          id: 'P1',
          title: 'p',
          status: 'Planned',
          description: 'p',
          milestones: [
            {
              type: 'Milestone',
              id: 'P1.M1',
              title: 'm',
              status: 'Planned',
              description: 'm',
              tasks: [
                {
                  type: 'Task',
                  id: 'P1.M1.T1',
                  title: 't',
                  status: 'Planned',
                  description: 't',
                  subtasks: [sub(1, 2), sub(2, 1)],
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(backlog, JSON.stringify(tree, null, 2));
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--backlog', backlog, '--simulate', '1'],
      w.dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(backlog);
    expect(result.stderr).toContain('DEPENDENCY_CYCLE');
    expectNothingWritten(w.plan);

    const validate = await runCli(['validate', backlog, '--json'], w.dir);
    expect(validate.code).toBe(2);
    const report = JSON.parse(validate.stdout);
    expect(report.valid).toBe(false);
    expect(report.issues.map((i: { code: string }) => i.code)).toContain('DEPENDENCY_CYCLE');
  });

  it('a new session without --exec or --simulate: exit 2 saying what to add, nothing written', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const result = await runCli(['run', w.prd, '--plan-dir', w.plan], w.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/add --exec CMD/);
    expect(result.stderr).toMatch(/--simulate MS/);
    expect(existsSync(w.plan)).toBe(false);
  });

  it('an unknown scope: exit 2 and no session created', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 1));
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--scope', 'P9.M1', '--simulate', '1'],
      w.dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown scope 'P9.M1'");
    expectNothingWritten(w.plan);
  });

  it('usage errors: exit 2 with one line and where to find the help', async () => {
    const w = workspace();
    for (const [args, message, see] of [
      [['run'], 'run needs <prd.md>', 'savepoint run --help'],
      [['frobnicate'], "unknown command 'frobnicate'", 'savepoint --help'],
      [
        ['run', 'a.md', '--retries', 'many'],
        '--retries needs a whole number of 0 or more, got many',
        'savepoint run --help',
      ],
      [
        ['run', 'a.md', '--retries', '-1'],
        '--retries needs a whole number of 0 or more, got -1',
        'savepoint run --help',
      ],
      [
        ['run', 'a.md', '--concurrency', '0'],
        '--concurrency needs a whole number of 1 or more, got 0',
        'savepoint run --help',
      ],
      [
        ['resume', '--concurrency', 'four'],
        '--concurrency needs a whole number of 1 or more, got four',
        'savepoint resume --help',
      ],
      [
        ['work', '--lease-ms', '99'],
        '--lease-ms needs a whole number of 100 or more, got 99',
        'savepoint work --help',
      ],
      [['status', '--bogus'], 'unknown option --bogus', 'savepoint status --help'],
      [['status', '--plan-dir'], '--plan-dir needs a value', 'savepoint status --help'],
      [['sessions', '--json=yes'], '--json takes no value', 'savepoint sessions --help'],
      [['resume', '--exec', '--json'], '--exec needs a value', 'savepoint resume --help'],
      [['show'], 'show needs <id>', 'savepoint show --help'],
      [
        ['set-status', 'P1', 'Done'],
        "set-status takes Planned, Complete, Failed, Obsolete as the status, got 'Done'",
        'savepoint set-status --help',
      ],
    ] as const) {
      const result = await runCli([...args], w.dir);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr.split('\n')[0]).toContain(message);
      expect(result.stderr).toBe(`${result.stderr.split('\n')[0]}\nsee: ${see}\n`);
      expect(result.stderr).not.toMatch(/ambiguous|Usage:|TypeError|ERR_/);
    }
  });

  it('status without sessions: exit 2 with a hint', async () => {
    const w = workspace();
    const result = await runCli(['status', '--plan-dir', w.plan], w.dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('savepoint run');
  });
});

describe('backlog sources and validate', () => {
  it('takes the backlog from --decompose (PRD path in SAVEPOINT_PRD) and from --backlog', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const produced = join(w.dir, 'produced.json');
    // The decomposer proves it got the PRD path by echoing a backlog whose title is that path.
    const script = join(w.dir, 'decompose.mjs');
    writeFileSync(
      script,
      `const prd = process.env.SAVEPOINT_PRD;
const sub = (n) => ({ type: 'Subtask', id: 'P1.M1.T1.S' + n, title: 'from ' + prd, status: 'Planned', story_points: 0.5, dependencies: [], context_scope: 'x', extra_key: n });
const backlog = { backlog: [{ type: 'Phase', id: 'P1', title: 'p', status: 'Planned', description: 'p', milestones: [{ type: 'Milestone', id: 'P1.M1', title: 'm', status: 'Planned', description: 'm', tasks: [{ type: 'Task', id: 'P1.M1.T1', title: 't', status: 'Planned', description: 't', subtasks: [sub(1), sub(2), sub(3)] }] }] }] };
process.stdout.write(JSON.stringify(backlog));
`,
    );
    const worker = `echo "$SAVEPOINT_ITEM_ID $SAVEPOINT_ITEM_TITLE" >> "${w.log}"`;
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--decompose', `node "${script}"`, '--exec', worker],
      w.dir,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(readLines(w.log)).toEqual([1, 2, 3].map((n) => `P1.M1.T1.S${n} from ${w.prd}`));
    const [session] = sessionDirs(w.plan);
    const saved = subtasks(readTasks(session!)) as unknown as Array<Record<string, unknown>>;
    expect(saved.map((s) => s.extra_key)).toEqual([1, 2, 3]);
    writeFileSync(produced, readFileSync(join(session!, 'tasks.json')));

    const other = workspace();
    writeFileSync(other.prd, 'another PRD\n');
    const fromFile = await runCli(
      [
        'run',
        other.prd,
        '--plan-dir',
        other.plan,
        '--backlog',
        produced,
        '--simulate',
        '1',
        '--json',
      ],
      other.dir,
    );
    expect(fromFile.code, fromFile.stderr).toBe(0);
    // Every subtask was already Complete in that file: nothing left to run.
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ total: 3, completed: 3 });
  });

  it('a failing --decompose command: exit 2 with its message and nothing written', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 1));
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--simulate',
        '1',
        '--decompose',
        'echo "model unavailable" >&2; exit 9',
      ],
      w.dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('model unavailable');
    expect(existsSync(w.plan)).toBe(false);
  });

  it('validates a session folder and reports every problem of a broken file', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    expect(
      (await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir)).code,
    ).toBe(0);
    const [session] = sessionDirs(w.plan);
    const ok = await runCli(['validate', session!], w.dir);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid, 0 error(s)');

    const broken = JSON.parse(readFileSync(join(session!, 'tasks.json'), 'utf8'));
    const subs = broken.backlog[0].milestones[0].tasks[0].subtasks;
    subs[0].dependencies = ['P7.M1.T1.S1'];
    subs[1].id = 'P1.M1.T1.S1';
    const file = join(w.dir, 'broken.json');
    writeFileSync(file, JSON.stringify(broken, null, 2));
    const bad = await runCli(['validate', file, '--json'], w.dir);
    expect(bad.code).toBe(2);
    const codes = JSON.parse(bad.stdout).issues.map((i: { code: string }) => i.code);
    expect(codes).toEqual(expect.arrayContaining(['UNKNOWN_DEPENDENCY', 'DUPLICATE_ID']));
    const text = await runCli(['validate', file], w.dir);
    expect(text.stdout).toContain('backlog[0].milestones[0].tasks[0].subtasks[0].dependencies[0]');
  });
});

describe('what a command loads', () => {
  const RECORDER = join(APP_DIR, 'test', 'fixtures', 'record-loads.mjs');

  /** The module files `savepoint ...args` loaded, from a preloaded recorder. */
  async function loads(
    args: string[],
    dir: string,
  ): Promise<{ code: number | null; files: string[] }> {
    const out = join(dir, `loads-${args[0]}.txt`);
    const result = await runCli(args, dir, {
      NODE_OPTIONS: `--import=${RECORDER}`,
      SAVEPOINT_TEST_LOADS: out,
    });
    return { code: result.code, files: existsSync(out) ? readLines(out) : [] };
  }
  const uses = (files: string[], name: string) =>
    files.some((file) => file.includes(`/node_modules/${name}/`));

  it('--version, --help and a mistyped command load neither zod nor pg', async () => {
    const w = workspace();
    for (const args of [['--version'], ['--help'], ['run', '--help'], ['stauts']]) {
      const { code, files } = await loads(args, w.dir);
      expect(code, args.join(' ')).toBe(args[0] === 'stauts' ? 2 : 0);
      // The recorder saw the CLI's own files, so an empty list cannot pass for a light start.
      expect(
        files.some((file) => file.endsWith('/main.js')),
        args.join(' '),
      ).toBe(true);
      expect(uses(files, 'zod'), args.join(' ')).toBe(false);
      expect(uses(files, 'pg'), args.join(' ')).toBe(false);
    }
  });

  it('a command on a plan folder loads zod but never the PostgreSQL driver', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const ran = await loads(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir);
    expect(ran.code).toBe(0);
    const status = await loads(['status', '--plan-dir', w.plan], w.dir);
    expect(status.code).toBe(0);
    for (const { files } of [ran, status]) {
      expect(uses(files, 'zod')).toBe(true);
      expect(uses(files, 'pg')).toBe(false);
    }
  });
});
