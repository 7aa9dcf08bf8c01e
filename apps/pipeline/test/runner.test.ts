import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectNoneLeft,
  makeBacklog,
  makePrd,
  newMarker,
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

function workspace(backlog?: string) {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const w = {
    dir: temp.dir,
    prd: join(temp.dir, 'prd.md'),
    log: join(temp.dir, 'worker.log'),
    plan: join(temp.dir, 'plan'),
    backlog: join(temp.dir, 'tasks.json'),
  };
  writeFileSync(w.prd, '# PRD\n\n## Only phase\n\n- one\n');
  if (backlog !== undefined) writeFileSync(w.backlog, backlog);
  return w;
}

const independent = (n: number) => makeBacklog(Array.from({ length: n }, () => []));
const statuses = (plan: string) => subtasks(readTasks(sessionDirs(plan)[0]!)).map((s) => s.status);

describe('savepoint run --concurrency', () => {
  it('runs 40 one-second subtasks four at a time in about 10 s', async () => {
    const w = workspace(independent(40));
    const marker = newMarker();
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--backlog',
        w.backlog,
        '--exec',
        `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 1`,
        '--concurrency',
        '4',
      ],
      w.dir,
      marker.env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(new Set(readLines(w.log)).size).toBe(40);
    // The one timed assertion, and the point of the test: four at a time must take about a
    // quarter of 40 s (ideal 10 s), not 40 s; 1.3x of the ideal leaves room for a busy machine.
    expect(result.elapsedMs).toBeLessThan(13_000);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('never starts a subtask of a random 200-subtask graph before its dependencies finished', async () => {
    // A fixed seed would test one graph; any graph must hold, so each run draws a new one.
    const deps = Array.from({ length: 200 }, (_, i) => {
      const list = new Set<number>();
      const count = i === 0 ? 0 : Math.floor(Math.random() * Math.min(i, 4));
      while (list.size < count) list.add(Math.floor(Math.random() * i));
      return [...list];
    });
    const w = workspace(makeBacklog(deps));
    // `>>` opens the log with O_APPEND: concurrent workers' lines never overwrite each other.
    const worker = `echo "start $SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 0.0$(($$ % 5)); echo "end $SAVEPOINT_ITEM_ID" >> "${w.log}"`;
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--backlog',
        w.backlog,
        '--exec',
        worker,
        '--concurrency',
        '4',
      ],
      w.dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const ended = new Set<string>();
    let running = 0;
    let most = 0;
    const id = (i: number) => `P1.M1.T1.S${i + 1}`;
    for (const line of readLines(w.log)) {
      const [what, item] = line.split(' ') as [string, string];
      if (what === 'end') {
        ended.add(item);
        running -= 1;
        continue;
      }
      running += 1;
      most = Math.max(most, running);
      const index = Number(item.split('.S')[1]) - 1;
      for (const dep of deps[index]!) {
        expect(ended.has(id(dep)), `${item} started before ${id(dep)} ended`).toBe(true);
      }
    }
    expect(ended.size).toBe(200);
    expect(readLines(w.log)).toHaveLength(400);
    expect(most).toBeLessThanOrEqual(4);
  }, 120_000);

  it('Ctrl-C with four in flight: all four back to Planned on disk, exit 130 within 3 s', async () => {
    const w = workspace(independent(8));
    const marker = newMarker();
    const run = startCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--backlog',
        w.backlog,
        '--exec',
        `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 60`,
        '--concurrency',
        '4',
      ],
      w.dir,
      marker.env,
    );
    await waitFor(() => readLines(w.log).length === 4, 20_000, 'four subtasks to start');
    const sent = Date.now();
    run.child.kill('SIGINT');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(130);
    // The point of the test: stopping must not wait for the workers to finish on their own.
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(statuses(w.plan)).toEqual(Array(8).fill('Planned'));
    expect(readLines(w.log)).toHaveLength(4);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('a kill -9 series at concurrency 4 never re-runs a subtask that was Complete on disk', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(6, 20));
    const marker = newMarker();
    const args = [
      'run',
      w.prd,
      '--plan-dir',
      w.plan,
      '--exec',
      `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 0.05`,
      '--concurrency',
      '4',
      '--progress',
      'never',
    ];
    const checkpoints: Array<{ complete: Set<string>; logLength: number }> = [];
    let kills = 0;
    for (let round = 0; kills < 30 && round < 90; round++) {
      const run = startCli(args, w.dir, marker.env);
      const linesAtStart = readLines(w.log).length;
      const timer =
        Math.random() < 0.5
          ? setTimeout(() => run.child.kill('SIGKILL'), 20 + Math.random() * 400)
          : setInterval(() => {
              if (readLines(w.log).length > linesAtStart) {
                clearInterval(timer);
                setTimeout(() => run.child.kill('SIGKILL'), Math.random() * 80);
              }
            }, 5);
      const result = await run.result;
      clearInterval(timer);
      if (result.signal !== 'SIGKILL') {
        expect(result.code, result.stderr).toBe(0);
        break;
      }
      kills += 1;
      const [session] = sessionDirs(w.plan);
      if (!session) continue;
      const complete = new Set(
        subtasks(readTasks(session))
          .filter((s) => s.status === 'Complete')
          .map((s) => s.id),
      );
      checkpoints.push({ complete, logLength: readLines(w.log).length });
    }
    expect(kills).toBe(30);
    const final = await runCli(args, w.dir, marker.env);
    expect(final.code, final.stderr).toBe(0);
    await expectNoneLeft(marker.text);
    expect(statuses(w.plan).every((s) => s === 'Complete')).toBe(true);
    const lines = readLines(w.log);
    expect(new Set(lines).size).toBe(120);
    for (const { complete, logLength } of checkpoints) {
      for (const id of lines.slice(logLength)) {
        expect(complete.has(id), `${id} was Complete at a kill and ran again`).toBe(false);
      }
    }
  }, 300_000);
});

describe('no process outlives the CLI', () => {
  const run = (w: ReturnType<typeof workspace>, worker: string, env: Record<string, string>) =>
    startCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--backlog',
        w.backlog,
        '--exec',
        worker,
        '--concurrency',
        '2',
        '--retries',
        '0',
      ],
      w.dir,
      env,
    );
  const background = (w: ReturnType<typeof workspace>) =>
    `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 123 >/dev/null 2>&1 &`;

  it('when it is done, with workers that leave background children', async () => {
    const w = workspace(independent(4));
    const marker = newMarker();
    const result = await run(w, background(w), marker.env).result;
    expect(result.code, result.stderr).toBe(0);
    expect(readLines(w.log)).toHaveLength(4);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('when subtasks failed', async () => {
    const w = workspace(independent(3));
    const marker = newMarker();
    const result = await run(w, `${background(w)} exit 3`, marker.env).result;
    expect(result.code, result.stderr).toBe(1);
    await expectNoneLeft(marker.text);
  }, 60_000);

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`on ${signal}, with a worker that traps SIGTERM and one with a background child`, async () => {
      const w = workspace(independent(2));
      const marker = newMarker();
      const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S1 ]; then trap "" TERM; sleep 60; else sleep 123 >/dev/null 2>&1 & sleep 60; fi`;
      const cli = run(w, worker, marker.env);
      await waitFor(() => readLines(w.log).length === 2, 20_000, 'both workers to start');
      cli.child.kill(signal);
      const result = await cli.result;
      expect(result.code, result.stderr).toBe(code);
      expect(statuses(w.plan)).toEqual(['Planned', 'Planned']);
      await expectNoneLeft(marker.text);
    }, 60_000);
  }

  it('when a grandchild left the group with setsid (holding the output pipe), done and on Ctrl-C', async () => {
    const w = workspace(independent(3));
    const marker = newMarker();
    // S1 and S2 finish at once but leave a setsid sleep that keeps stdout open; S3 is interrupted.
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; setsid sleep 123 & if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S3 ]; then sleep 60; fi`;
    const cli = startCli(
      ['run', w.prd, '--plan-dir', w.plan, '--backlog', w.backlog, '--exec', worker],
      w.dir,
      marker.env,
    );
    await waitFor(() => readLines(w.log).length === 3, 20_000, 'the third subtask to start');
    cli.child.kill('SIGINT');
    const result = await cli.result;
    expect(result.code, result.stderr).toBe(130);
    expect(statuses(w.plan)).toEqual(['Complete', 'Complete', 'Planned']);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('on a double Ctrl-C with workers that trap SIGTERM', async () => {
    const w = workspace(independent(2));
    const marker = newMarker();
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; trap "" TERM; sleep 60`;
    const cli = run(w, worker, marker.env);
    await waitFor(() => readLines(w.log).length === 2, 20_000, 'both workers to start');
    cli.child.kill('SIGINT');
    // A person's second Ctrl-C comes well after the first; one within a short window can be a
    // signal passed on by a parent process, which is not a second one.
    await new Promise((r) => setTimeout(r, 1000));
    cli.child.kill('SIGINT');
    const result = await cli.result;
    expect(result.code, result.stderr).toBe(130);
    expect(statuses(w.plan)).toEqual(['Planned', 'Planned']);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('on Ctrl-C while a slow --decompose plans: the planner and its children are ended', async () => {
    const w = workspace();
    const marker = newMarker();
    // The planner leaves a background child and would print a backlog only after a minute.
    const planner = `sleep 123 >/dev/null 2>&1 & echo planning >> "${w.log}"; sleep 60; cat "${w.backlog}"`;
    const cli = startCli(
      ['run', w.prd, '--plan-dir', w.plan, '--decompose', planner, '--simulate', '1'],
      w.dir,
      marker.env,
    );
    await waitFor(() => readLines(w.log).length === 1, 20_000, 'the planner to start');
    cli.child.kill('SIGINT');
    const result = await cli.result;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('interrupted while planning; nothing was written');
    expect(existsSync(w.plan)).toBe(false);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('after kill -9 of the CLI: the next resume ends the old workers before running again', async () => {
    const w = workspace(independent(2));
    const marker = newMarker();
    const worker = `echo "$SAVEPOINT_ITEM_ID $SAVEPOINT_ATTEMPT" >> "${w.log}"; sleep 120`;
    const cli = run(w, worker, marker.env);
    await waitFor(() => readLines(w.log).length === 2, 20_000, 'both workers to start');
    cli.child.kill('SIGKILL');
    await cli.result;
    // The workers of the killed CLI are still running: the resume must end them.
    await waitFor(() => processesWithMarkerCount(marker.text) > 0, 5000, 'orphaned workers');
    const resume = startCli(
      ['resume', '--plan-dir', w.plan, '--exec', `echo "again $SAVEPOINT_ITEM_ID" >> "${w.log}"`],
      w.dir,
    );
    const result = await resume.result;
    expect(result.code, result.stderr).toBe(0);
    expect(readLines(w.log).slice(2).sort()).toEqual(['again P1.M1.T1.S1', 'again P1.M1.T1.S2']);
    expect(result.stderr).toMatch(/Ended \d+ process\(es\) left by a killed run/);
    await expectNoneLeft(marker.text);
  }, 60_000);
});

function processesWithMarkerCount(marker: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) count++;
    } catch {}
  }
  return count;
}

describe('what a worker gets and what a session remembers', () => {
  it('resume without --exec runs the stored worker, and --exec again replaces it', async () => {
    const w = workspace(independent(4));
    const args = ['--plan-dir', w.plan];
    const first = startCli(
      [
        'run',
        w.prd,
        ...args,
        '--backlog',
        w.backlog,
        '--exec',
        `echo "first $SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 30`,
        '--concurrency',
        '2',
      ],
      w.dir,
    );
    await waitFor(() => readLines(w.log).length === 2, 20_000, 'two subtasks to start');
    first.child.kill('SIGINT');
    expect((await first.result).code).toBe(130);
    const session = sessionDirs(w.plan)[0]!;
    const stored = JSON.parse(readFileSync(join(session, 'run.json'), 'utf8'));
    expect(stored).toMatchObject({ concurrency: 2 });
    // Replace the stored command with a quick one by hand-editing nothing: give --exec again.
    const quick = `echo "second $SAVEPOINT_ITEM_ID" >> "${w.log}"`;
    const replaced = await runCli(
      ['resume', ...args, '--exec', quick, '--scope', 'P1.M1.T1.S1'],
      w.dir,
    );
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(session, 'run.json'), 'utf8'))).toMatchObject({
      exec: quick,
      concurrency: 2,
      scope: 'P1.M1.T1.S1',
    });
    // Now a bare resume: the stored command (and scope, replaced again) does the rest.
    const bare = await runCli(['resume', ...args, '--scope', 'P1'], w.dir);
    expect(bare.code, bare.stderr).toBe(0);
    expect(readLines(w.log).slice(2).sort()).toEqual([
      'second P1.M1.T1.S1',
      'second P1.M1.T1.S2',
      'second P1.M1.T1.S3',
      'second P1.M1.T1.S4',
    ]);
    expect(statuses(w.plan)).toEqual(Array(4).fill('Complete'));
  }, 60_000);

  it('--timeout stops an attempt that runs longer, is kept for resume, and 0 lifts it', async () => {
    const w = workspace(independent(1));
    const marker = newMarker();
    const args = ['--plan-dir', w.plan];
    const first = await runCli(
      [
        'run',
        w.prd,
        ...args,
        '--backlog',
        w.backlog,
        '--exec',
        `echo started >> "${w.log}"; sleep 60`,
        '--timeout',
        '500',
        '--retries',
        '0',
      ],
      w.dir,
      marker.env,
    );
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toContain(
      'P1.M1.T1.S1 failed after 1 attempt(s) (timed out after 500 ms)',
    );
    // Not the 60 s of the command: the group was ended at the limit.
    expect(first.elapsedMs).toBeLessThan(30_000);
    await expectNoneLeft(marker.text);
    const session = sessionDirs(w.plan)[0]!;
    const runJson = () => JSON.parse(readFileSync(join(session, 'run.json'), 'utf8'));
    expect(runJson()).toMatchObject({ timeoutMs: 500, retries: 0 });
    expect(readFileSync(join(session, 'ERROR_REPORT.md'), 'utf8')).toContain(
      'Reason: timed out after 500 ms',
    );
    expect(statuses(w.plan)).toEqual(['Failed']);

    // A resume without --timeout keeps the stored limit: a command of at least 1 s fails again.
    const slow = `sleep 1; echo finished >> "${w.log}"`;
    const reset = () => runCli(['set-status', 'P1.M1.T1.S1', 'Planned', ...args], w.dir);
    expect((await reset()).code).toBe(0);
    const again = await runCli(['resume', ...args, '--exec', slow], w.dir);
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain('(timed out after 500 ms)');
    expect(readLines(w.log)).toEqual(['started']);

    // --timeout 0 lifts it, and is stored too.
    expect((await reset()).code).toBe(0);
    const lifted = await runCli(['resume', ...args, '--timeout', '0'], w.dir);
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(readLines(w.log)).toEqual(['started', 'finished']);
    expect(runJson()).toMatchObject({ exec: slow, timeoutMs: 0 });
    expect(statuses(w.plan)).toEqual(['Complete']);
  }, 90_000);

  it('a NUL byte or a 200 KB title does not stick the session; the item file has the context', async () => {
    const huge = 'x'.repeat(200 * 1024);
    const w = workspace(makeBacklog([[], [0]], (i) => (i === 0 ? 'nul\u0000inside' : huge)));
    const worker = `printf '%s %s\\n' "$SAVEPOINT_ITEM_ID" "\${#SAVEPOINT_ITEM_TITLE}" >> "${w.log}"; cp "$SAVEPOINT_ITEM_FILE" "${w.dir}/$SAVEPOINT_ITEM_ID.json"`;
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--backlog', w.backlog, '--exec', worker],
      w.dir,
    );
    expect(result.code, result.stderr).toBe(0);
    const [first, second] = readLines(w.log);
    expect(first).toBe('P1.M1.T1.S1 10');
    expect(Number(second!.split(' ')[1])).toBeLessThanOrEqual(4096);
    const file = JSON.parse(readFileSync(join(w.dir, 'P1.M1.T1.S2.json'), 'utf8'));
    expect(file.item.title).toBe(huge);
    expect(file.context_scope).toBe('scope of P1.M1.T1.S2');
    expect(file.ancestors.map((a: { id: string }) => a.id)).toEqual(['P1', 'P1.M1', 'P1.M1.T1']);
    expect(file.ancestors[0].description).toBe('the only phase');
    expect(file.dependencies).toEqual([
      { id: 'P1.M1.T1.S1', title: 'nul\u0000inside', status: 'Complete' },
    ]);
  }, 60_000);

  it('a background process does not hold a subtask: it is ended once the worker exits', async () => {
    const w = workspace(independent(3));
    const marker = newMarker();
    // The background part notes when SIGTERM ends it; left alone it would run for 8 s.
    // The foreground waits until the trap is set, so SIGTERM cannot arrive before it.
    const ready = `"${w.dir}/$SAVEPOINT_ITEM_ID.ready"`;
    const worker = `(trap 'echo "ended $SAVEPOINT_ITEM_ID" >> "${w.log}"; exit 0' TERM; touch ${ready}; sleep 8 & wait) & while [ ! -e ${ready} ]; do sleep 0.01; done; echo "started $SAVEPOINT_ITEM_ID" >> "${w.log}"`;
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--backlog', w.backlog, '--exec', worker],
      w.dir,
      marker.env,
    );
    expect(result.code, result.stderr).toBe(0);
    // Left alone, each background part would run 8 s and write nothing; an "ended" line for every
    // subtask, after its own "started", shows the runner ended it instead of waiting for it.
    const lines = readLines(w.log);
    expect(lines).toHaveLength(6);
    for (const id of ['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3']) {
      expect(lines.indexOf(`started ${id}`)).toBeGreaterThanOrEqual(0);
      expect(lines.indexOf(`ended ${id}`)).toBeGreaterThan(lines.indexOf(`started ${id}`));
    }
    expect(statuses(w.plan)).toEqual(['Complete', 'Complete', 'Complete']);
    await expectNoneLeft(marker.text);
  }, 60_000);

  it('keeps every attempt log, shows the last lines of a failure and puts them in ERROR_REPORT.md', async () => {
    const w = workspace(independent(2));
    const worker = `echo "out of $SAVEPOINT_ITEM_ID attempt $SAVEPOINT_ATTEMPT"; [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S1 ] || { echo "broken $SAVEPOINT_ATTEMPT" >&2; exit 5; }`;
    const result = await runCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--backlog',
        w.backlog,
        '--exec',
        worker,
        '--retries',
        '1',
        '--output',
        'stream',
      ],
      w.dir,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('[P1.M1.T1.S1] out of P1.M1.T1.S1 attempt 1');
    expect(result.stderr).toContain('  | broken 2');
    const session = sessionDirs(w.plan)[0]!;
    const logs = readdirSync(join(session, 'logs')).filter((n) => n.endsWith('.log'));
    expect(logs.sort()).toEqual(['P1.M1.T1.S1.1.log', 'P1.M1.T1.S2.1.log', 'P1.M1.T1.S2.2.log']);
    const log = readFileSync(join(session, 'logs', 'P1.M1.T1.S2.2.log'), 'utf8');
    expect(log).toContain('out of P1.M1.T1.S2 attempt 2\n');
    expect(log).toContain('broken 2\n');
    const report = readFileSync(join(session, 'ERROR_REPORT.md'), 'utf8');
    expect(report).toContain('broken 2');
    expect(report).toContain('P1.M1.T1.S2.2.log');
    expect(existsSync(join(session, 'workers.json'))).toBe(false);
  }, 60_000);
});
