import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HELP, optionSpec } from '../src/help.ts';
import {
  APP_DIR,
  makePrd,
  REPO_ROOT,
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
  return {
    dir: temp.dir,
    prd: join(temp.dir, 'prd.md'),
    log: join(temp.dir, 'worker.log'),
    plan: join(temp.dir, 'plan'),
  };
}

/** A worker that logs each item and fails P1.M1.T1.S2 while `fail` exists. */
function failingWorker(w: ReturnType<typeof workspace>): string {
  const flag = join(w.dir, 'fail');
  writeFileSync(flag, '');
  return `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S2 ] && [ -e "${flag}" ]; then echo broken >&2; exit 5; fi`;
}

describe('help', () => {
  it('prints each command its own help on stdout with exit 0', async () => {
    const w = workspace();
    for (const name of Object.keys(HELP)) {
      for (const args of name === 'run'
        ? [
            [name, '-h'],
            ['help', name],
            [name, 'x.md', '--help'],
          ]
        : [[name, '--help']]) {
        const result = await runCli(args, w.dir);
        expect(result.code, args.join(' ')).toBe(0);
        expect(result.stdout).toBe(`${HELP[name]}\n`);
        expect(result.stdout.startsWith(`Usage: savepoint ${name}`)).toBe(true);
      }
    }
    const global = await runCli(['--help'], w.dir);
    expect(global.code).toBe(0);
    expect(global.stdout).toContain('Commands:');
  });

  it('each command takes exactly the options its help lists', () => {
    const exec = [
      'plan-dir',
      'store',
      'exec',
      'simulate',
      'concurrency',
      'retries',
      'scope',
      'timeout',
    ];
    const shown = ['output', 'qa', 'progress', 'json', 'flush'];
    const session = ['plan-dir', 'store', 'session', 'json'];
    const expected: Record<string, string[]> = {
      run: ['backlog', 'decompose', ...exec, ...shown],
      resume: ['session', ...exec, ...shown],
      status: [...session, 'tree'],
      validate: ['json'],
      sessions: ['plan-dir', 'store', 'json'],
      work: [
        'store',
        'session',
        'concurrency',
        'exec',
        'simulate',
        'timeout',
        'lease-ms',
        'plan-dir',
        'output',
        'json',
      ],
      export: ['store', 'session'],
      import: ['store'],
      plan: ['plan-dir', 'backlog', 'decompose', 'json'],
      show: session,
      next: [...session, 'scope'],
      'set-status': session,
    };
    const switches = new Set(['json', 'tree']);
    for (const [name, options] of Object.entries(expected)) {
      const spec = optionSpec(name);
      expect(Object.keys(spec).sort(), name).toEqual([...options, 'help'].sort());
      for (const option of options) {
        expect(spec[option]!.type, `${name} --${option}`).toBe(
          switches.has(option) ? 'boolean' : 'string',
        );
      }
    }
    expect(Object.keys(expected).sort()).toEqual(Object.keys(HELP).sort());
  });

  it('bare savepoint prints the help on stderr and exits 2', async () => {
    const w = workspace();
    const result = await runCli([], w.dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Commands:');
  });
});

describe('savepoint plan', () => {
  it('shows the backlog a run would create and writes nothing', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 2));
    const text = await runCli(['plan', w.prd, '--plan-dir', w.plan], w.dir);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('[ ] P2.M1.T1.S2 step 2.2 (Planned)');
    expect(text.stdout).toContain('4 subtask(s).');
    expect(text.stderr).toContain('Nothing was written');
    const json = await runCli(['plan', w.prd, '--plan-dir', w.plan, '--json'], w.dir);
    expect(json.code).toBe(0);
    const planned = JSON.parse(json.stdout);
    expect(planned.subtasks).toBe(4);
    expect(subtasks(planned.backlog).map((s) => s.id)).toEqual([
      'P1.M1.T1.S1',
      'P1.M1.T1.S2',
      'P2.M1.T1.S1',
      'P2.M1.T1.S2',
    ]);
    expect(existsSync(w.plan)).toBe(false);
    // The default plan folder is not created either.
    expect(readdirSync(w.dir).sort()).toEqual(['prd.md']);
    await runCli(['plan', w.prd], w.dir);
    expect(readdirSync(w.dir).sort()).toEqual(['prd.md']);
  });

  it('after a run: shows what a delta session would carry over, still writing nothing', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    expect(
      (await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir)).code,
    ).toBe(0);
    const before = readdirSync(w.plan).sort();
    writeFileSync(w.prd, `${makePrd(1, 2)}\n## Phase 2\n\n- new work\n`);
    const result = await runCli(['plan', w.prd, '--plan-dir', w.plan, '--json'], w.dir);
    expect(result.code, result.stderr).toBe(0);
    const planned = JSON.parse(result.stdout);
    expect(planned.parent).toMatch(/^001_/);
    const statuses = subtasks(planned.backlog).map((s) => s.status);
    expect(statuses).toContain('Planned');
    expect(readdirSync(w.plan).sort()).toEqual(before);
  });
});

describe('show, next and set-status', () => {
  it('show: the item, its ancestors, dependencies with statuses and context_scope', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', failingWorker(w), '--retries', '0'],
      w.dir,
    );
    const result = await runCli(['show', 'P1.M1.T1.S3', '--plan-dir', w.plan, '--json'], w.dir);
    expect(result.code, result.stderr).toBe(0);
    const shown = JSON.parse(result.stdout);
    expect(shown.item).toMatchObject({ id: 'P1.M1.T1.S3', status: 'Planned' });
    expect(typeof shown.item.context_scope).toBe('string');
    expect(shown.ancestors.map((a: { id: string }) => a.id)).toEqual(['P1', 'P1.M1', 'P1.M1.T1']);
    expect(shown.dependencies).toEqual([
      { id: 'P1.M1.T1.S2', type: 'Subtask', title: 'step 1.2', status: 'Failed' },
    ]);
    expect(shown.blockedBy).toEqual(['P1.M1.T1.S2']);
    const text = await runCli(['show', 'P1.M1.T1.S3', '--plan-dir', w.plan], w.dir);
    expect(text.stdout).toContain('status: Planned (blocked by the failure of P1.M1.T1.S2)');
    expect(text.stdout).toContain('P1.M1.T1.S2 step 1.2 (Failed)');
    expect(text.stdout).toContain('context_scope:');
    const unknown = await runCli(['show', 'P9', '--plan-dir', w.plan], w.dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no item 'P9'");
  });

  it('next lists what is ready in run order; set-status steers it and a run follows', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 2));
    const worker = failingWorker(w);
    const first = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', worker, '--retries', '0'],
      w.dir,
    );
    expect(first.code).toBe(1);
    const [session] = sessionDirs(w.plan);
    expect(existsSync(join(session!, 'ERROR_REPORT.md'))).toBe(true);

    const ready = JSON.parse(
      (await runCli(['next', '--plan-dir', w.plan, '--json'], w.dir)).stdout,
    );
    expect(ready.ready.map((s: { id: string }) => s.id)).toEqual(['P1.M1.T1.S2']);

    // Obsolete unblocks nothing here (S2 has no dependants); the failure is gone from the report.
    const set = await runCli(
      ['set-status', 'P1.M1.T1.S2', 'obsolete', '--plan-dir', w.plan],
      w.dir,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('P1.M1.T1.S2: Failed -> Obsolete');
    expect(subtasks(readTasks(session!)).find((s) => s.id === 'P1.M1.T1.S2')!.status).toBe(
      'Obsolete',
    );
    expect(existsSync(join(session!, 'ERROR_REPORT.md'))).toBe(false);
    const none = await runCli(['next', '--plan-dir', w.plan], w.dir);
    expect(none.stdout).toMatch(/^Nothing is ready in session 001_/);

    // Back to Planned: next shows it and a run does it (the worker no longer fails).
    expect(
      (await runCli(['set-status', 'P1.M1.T1.S2', 'Planned', '--plan-dir', w.plan], w.dir)).code,
    ).toBe(0);
    expect((await runCli(['next', '--plan-dir', w.plan], w.dir)).stdout).toContain(
      'P1.M1.T1.S2  step 1.2',
    );
    execFileSync('rm', [join(w.dir, 'fail')]);
    const before = readLines(w.log).length;
    const again = await runCli(['resume', '--plan-dir', w.plan, '--exec', worker], w.dir);
    expect(again.code, again.stderr).toBe(0);
    expect(readLines(w.log).slice(before)).toEqual(['P1.M1.T1.S2']);
  });

  it('set-status on a container sets every subtask under it', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(2, 2));
    await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1', '--scope', 'P2'], w.dir);
    const result = await runCli(
      ['set-status', 'P1', 'Obsolete', '--plan-dir', w.plan, '--json'],
      w.dir,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      from: 'Planned',
      to: 'Obsolete',
      subtasks: ['P1.M1.T1.S1', 'P1.M1.T1.S2'],
    });
    const [session] = sessionDirs(w.plan);
    expect(subtasks(readTasks(session!)).map((s) => s.status)).toEqual([
      'Obsolete',
      'Obsolete',
      'Complete',
      'Complete',
    ]);
  });

  it('set-status refuses while a run holds the session: exit 3 naming the pid, nothing changed', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    const run = startCli(
      [
        'run',
        w.prd,
        '--plan-dir',
        w.plan,
        '--exec',
        `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; sleep 30`,
      ],
      w.dir,
    );
    await waitFor(() => readLines(w.log).length >= 1, 20_000, 'the run to start work');
    const result = await runCli(
      ['set-status', 'P1.M1.T1.S3', 'Obsolete', '--plan-dir', w.plan],
      w.dir,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(String(run.child.pid));
    run.child.kill('SIGINT');
    expect((await run.result).code).toBe(130);
    const [session] = sessionDirs(w.plan);
    expect(subtasks(readTasks(session!)).map((s) => s.status)).toEqual([
      'Planned',
      'Planned',
      'Planned',
    ]);
  });
});

describe('reports and status', () => {
  it('status names failed and blocked items; status --json has every key run --json has', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    const run = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--exec', failingWorker(w), '--retries', '0', '--json'],
      w.dir,
    );
    expect(run.code).toBe(1);
    const runKeys = Object.keys(JSON.parse(run.stdout)).sort();
    const status = await runCli(['status', '--plan-dir', w.plan, '--json'], w.dir);
    const report = JSON.parse(status.stdout);
    expect(Object.keys(report)).toEqual(expect.arrayContaining(runKeys));
    expect(report).toMatchObject({
      failed: 1,
      blocked: ['P1.M1.T1.S3'],
      failedItems: [{ id: 'P1.M1.T1.S2' }],
    });
    const text = await runCli(['status', '--plan-dir', w.plan], w.dir);
    expect(text.stdout).toContain('failed:\n    P1.M1.T1.S2 step 1.2');
    expect(text.stdout).toContain('blocked:\n    P1.M1.T1.S3 step 1.3 (waits on P1.M1.T1.S2)');
  });

  it('ERROR_REPORT.md goes away once a resume fixed the failure', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    const worker = failingWorker(w);
    expect(
      (
        await runCli(
          ['run', w.prd, '--plan-dir', w.plan, '--exec', worker, '--retries', '0'],
          w.dir,
        )
      ).code,
    ).toBe(1);
    const [session] = sessionDirs(w.plan);
    expect(readFileSync(join(session!, 'ERROR_REPORT.md'), 'utf8')).toContain('P1.M1.T1.S2');
    execFileSync('rm', [join(w.dir, 'fail')]);
    const resumed = await runCli(['resume', '--plan-dir', w.plan, '--exec', worker], w.dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(existsSync(join(session!, 'ERROR_REPORT.md'))).toBe(false);
  });

  it('a failed QA step shows in the final summary line', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const result = await runCli(
      ['run', w.prd, '--plan-dir', w.plan, '--simulate', '1', '--qa', 'exit 3'],
      w.dir,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^Finished with failures\. Progress: 2\/2 complete .* QA failed: see .*TEST_RESULTS\.md\.\n$/,
    );
  });

  it('prints one summary, after the opening line, when stderr is not a terminal', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 2));
    const done = await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir);
    const all = `${done.stderr}${done.stdout}`;
    expect(all.match(/Progress: 2\/2/g)).toHaveLength(1);
    expect(done.stderr.split('\n')[0]).toMatch(/^New session 001_/);

    const other = workspace();
    writeFileSync(other.prd, makePrd(1, 3));
    const run = startCli(
      [
        'run',
        other.prd,
        '--plan-dir',
        other.plan,
        '--exec',
        `echo "$SAVEPOINT_ITEM_ID" >> "${other.log}"; sleep 30`,
      ],
      other.dir,
    );
    await waitFor(() => readLines(other.log).length >= 1, 20_000, 'the run to start work');
    run.child.kill('SIGINT');
    const stopped = await run.result;
    expect(stopped.code).toBe(130);
    expect(`${stopped.stderr}${stopped.stdout}`.match(/Progress: 0\/3/g)).toHaveLength(1);
    expect(stopped.stderr).not.toMatch(/\{|\}/);
  });

  it('sessions lists a damaged session as damaged, goes on, and says how to recover', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 1));
    await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir);
    writeFileSync(w.prd, makePrd(1, 2));
    await runCli(['run', w.prd, '--plan-dir', w.plan, '--simulate', '1'], w.dir);
    const [first] = sessionDirs(w.plan);
    writeFileSync(join(first!, 'tasks.json'), '{\n  "backlog": [\n    {,\n');
    const list = await runCli(['sessions', '--plan-dir', w.plan, '--json'], w.dir);
    expect(list.code).toBe(2);
    const rows = JSON.parse(list.stdout).sessions;
    expect(rows).toHaveLength(2);
    expect(rows[0].damaged).toContain('tasks.json');
    expect(rows[1]).toMatchObject({ damaged: null, completed: 2, total: 2 });
    expect(list.stderr).toContain(`remove the folder ${first}`);
    const text = await runCli(['sessions', '--plan-dir', w.plan], w.dir);
    expect(text.stdout).toContain('DAMAGED');
    expect(text.stdout).toContain('2/2 (100.0%)');

    const status = await runCli(['status', '--plan-dir', w.plan, '--session', '1'], w.dir);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/line 3/);
    expect(status.stderr).toContain(`To recover: fix ${join(first!, 'tasks.json')}`);
    expect(status.stderr).toContain(`or remove the folder ${first}`);
  });
});

describe('the resume hint', () => {
  it('runs as printed through /bin/sh, with a plan folder that is not the default and a quoted worker', async () => {
    const w = workspace();
    const plan = join(w.dir, 'my plans');
    writeFileSync(w.prd, makePrd(1, 4));
    const worker = `echo "$SAVEPOINT_ITEM_ID it's" >> "${w.log}"; sleep 0.3`;
    // Given relative: the hint repeats it as typed, which works from the same folder.
    const run = startCli(['run', w.prd, '--plan-dir', 'my plans', '--exec', worker], w.dir);
    await waitFor(() => readLines(w.log).length >= 2, 20_000, 'two subtasks to start');
    run.child.kill('SIGINT');
    const stopped = await run.result;
    expect(stopped.code).toBe(130);
    const hint = /Resume with: (.*)$/m.exec(stopped.stdout)?.[1];
    expect(hint).toBeDefined();
    expect(hint).toContain("--plan-dir 'my plans' ");
    const output = execFileSync('/bin/sh', ['-c', hint!], {
      cwd: w.dir,
      env: { ...process.env, CI: '1' },
      encoding: 'utf8',
    });
    expect(output).toMatch(/^Done\. Progress: 4\/4/m);
    const [session] = sessionDirs(plan);
    expect(subtasks(readTasks(session!)).every((s) => s.status === 'Complete')).toBe(true);
    expect(new Set(readLines(w.log)).size).toBe(4);
  });

  it('names pnpm exec when started through it, and that command works as typed', async () => {
    const w = workspace();
    writeFileSync(w.prd, makePrd(1, 3));
    // The worker interrupts the CLI itself ($PPID is the CLI), so no package manager relays the signal.
    const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${w.log}"; if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S2 ] && [ ! -e "${w.dir}/resumed" ]; then kill -INT $PPID; sleep 5; fi`;
    const args = ['exec', 'savepoint', 'run', w.prd, '--plan-dir', w.plan, '--exec', worker];
    const stopped = spawnSync('pnpm', args, {
      cwd: REPO_ROOT,
      env: { ...process.env, CI: '1' },
      encoding: 'utf8',
    });
    expect(stopped.status, stopped.stderr).toBe(130);
    const hint = /Resume with: (.*)$/m.exec(stopped.stdout)?.[1];
    expect(hint).toMatch(/^pnpm exec savepoint resume --plan-dir /);
    writeFileSync(join(w.dir, 'resumed'), '');
    const resumed = spawnSync('/bin/sh', ['-c', hint!], {
      cwd: REPO_ROOT,
      env: { ...process.env, CI: '1' },
      encoding: 'utf8',
    });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(readLines(w.log)).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S2', 'P1.M1.T1.S3']);
  });
});

describe('the Quick start demo', () => {
  it('runs the example worker once per subtask; it gets the item through the environment', async () => {
    const w = workspace();
    const examples = join(APP_DIR, 'examples');
    const worker = `node '${join(examples, 'worker.mjs')}'`;
    const result = await runCli(
      ['run', join(examples, 'prd.md'), '--plan-dir', w.plan, '--exec', worker],
      w.dir,
      {
        SAVEPOINT_DEMO_MS: '1',
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const [session] = sessionDirs(w.plan);
    const written = readdirSync(join(session!, 'work')).sort();
    const all = subtasks(readTasks(session!));
    expect(all).toHaveLength(15);
    expect(written).toEqual(all.map((s) => `${s.id}.md`).sort());
    for (const subtask of all) {
      expect(readFileSync(join(session!, 'work', `${subtask.id}.md`), 'utf8')).toContain(
        `# ${subtask.id}: ${subtask.title}`,
      );
    }
  });
});
