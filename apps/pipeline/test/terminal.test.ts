import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  makePrd,
  REPO_ROOT,
  readLines,
  readTasks,
  sessionDirs,
  subtasks,
  tempDir,
  waitFor,
} from './helpers.ts';

// Ctrl-C in a real terminal: tmux gives an interactive shell on a pseudo-terminal, the command line
// is typed into it and Ctrl-C is a key press, so the terminal, the shell and the package manager
// deliver and pass on signals exactly as they do for a person. `pnpm exec` passes SIGTERM on a
// millisecond after the terminal's SIGINT; `npm exec` passes SIGINT on; neither may count as a
// second Ctrl-C.
//
// The CLI's own exit code is recorded by a preload script (the shell only sees the package
// manager's code, and pnpm exits before the CLI does).

const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
if (!hasTmux) console.warn('terminal tests skipped: tmux was not found on PATH');

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

let sessions = 0;

/** An interactive bash in a tmux pane of its own server, removed after the test. */
function terminal(dir: string, env: Record<string, string>) {
  const socket = `savepoint-test-${process.pid}-${++sessions}`;
  const serverEnv: NodeJS.ProcessEnv = { ...process.env, ...env, PS1: 'test$ ' };
  delete serverEnv.TMUX;
  delete serverEnv.CI;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: serverEnv, cwd: dir });
  tmux('new-session', '-d', '-s', 't', '-x', '200', '-y', '50', 'bash --norc --noprofile');
  cleanups.push(() => {
    try {
      tmux('kill-server');
    } catch {
      // Already gone.
    }
  });
  return {
    type(line: string) {
      tmux('send-keys', '-t', 't', '-l', line);
      tmux('send-keys', '-t', 't', 'Enter');
    },
    ctrlC(): number {
      tmux('send-keys', '-t', 't', 'C-c');
      return Date.now();
    },
    screen(): string {
      return tmux('capture-pane', '-p', '-J', '-t', 't', '-S', '-500');
    },
  };
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** A PRD, a worker that logs each subtask it starts, and a terminal to run them in. */
function setup(worker: (log: string) => string) {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  const prd = join(temp.dir, 'prd.md');
  const log = join(temp.dir, 'worker.log');
  const plan = join(temp.dir, 'plan');
  const exitFile = join(temp.dir, 'savepoint.exit');
  const preload = join(temp.dir, 'record-exit.cjs');
  writeFileSync(prd, makePrd(1, 6));
  writeFileSync(
    preload,
    [
      "if (/savepoint\\.js$/.test(process.argv[1] || '')) {",
      "  process.on('exit', (code) => require('node:fs').writeFileSync(process.env.SAVEPOINT_TEST_EXIT_FILE, String(code)));",
      '}',
    ].join('\n'),
  );
  const options = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  const term = terminal(REPO_ROOT, {
    NODE_OPTIONS: `${options}--require ${preload}`,
    SAVEPOINT_TEST_EXIT_FILE: exitFile,
  });
  const args = `run ${quote(prd)} --plan-dir ${quote(plan)} --exec ${quote(worker(log))}`;
  return {
    term,
    log,
    plan,
    exitFile,
    command: (launcher: string) => `${launcher} ${args}`,
    exitCode: () => (existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8')) : undefined),
  };
}

const LAUNCHERS = [
  ['pnpm exec', 'pnpm exec savepoint'],
  ['npm exec', 'npm exec -- savepoint'],
  ['the shell', './node_modules/.bin/savepoint'],
] as const;

describe.skipIf(!hasTmux)('Ctrl-C in a real terminal', () => {
  it.each(LAUNCHERS)(
    'one Ctrl-C under %s saves, prints the summary and exits 130',
    async (_name, launcher) => {
      const run = setup((log) => `echo "$SAVEPOINT_ITEM_ID" >> ${quote(log)}; sleep 2`);
      run.term.type(run.command(launcher));
      await waitFor(() => readLines(run.log).length >= 1, 60_000, 'the first subtask to start');
      run.term.ctrlC();
      await waitFor(() => run.exitCode() !== undefined, 30_000, 'savepoint to exit');
      expect(run.exitCode()).toBe(130);
      // The shell gets its prompt back (at once under pnpm); it reports the launcher's code.
      run.term.type('echo "shell saw $?"');
      await waitFor(() => /shell saw \d+/.test(run.term.screen()), 10_000, 'the shell');

      const screen = run.term.screen();
      expect(screen).toMatch(/Interrupted\. .*Resume with: /);
      expect(screen).not.toContain('forcing the exit');
      expect(screen).not.toMatch(/\{ *\w+:/);
      expect(screen).toContain('shell saw 130');
      const tasks = readTasks(sessionDirs(run.plan)[0]!);
      const statuses = subtasks(tasks).map((s) => s.status);
      // The subtask in flight went back to Planned; nothing is left half-done.
      expect(statuses.every((s) => s === 'Complete' || s === 'Planned')).toBe(true);
      expect(statuses.filter((s) => s === 'Planned').length).toBeGreaterThan(0);
    },
  );

  it.each(LAUNCHERS.filter(([name]) => name !== 'pnpm exec'))(
    'a second Ctrl-C one second later under %s forces the exit with 130',
    async (_name, launcher) => {
      // The worker ignores SIGTERM, so the graceful path would wait out the 3 s grace period.
      const run = setup(
        (log) => `echo "$SAVEPOINT_ITEM_ID" >> ${quote(log)}; trap "" TERM; sleep 8`,
      );
      run.term.type(run.command(launcher));
      await waitFor(() => readLines(run.log).length >= 1, 60_000, 'the first subtask to start');
      run.term.ctrlC();
      // A person's second press, well after the window in which a signal counts as passed on.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const second = run.term.ctrlC();
      await waitFor(() => run.exitCode() !== undefined, 30_000, 'savepoint to exit');
      const after = Date.now() - second;
      expect(run.exitCode()).toBe(130);
      expect(run.term.screen()).toContain('forcing the exit');
      // The point of forcing: it does not wait for the worker's grace period (3 s, of which 2 s
      // were left). Generous for a busy machine; the graceful path cannot be this quick.
      expect(after).toBeLessThan(1900);
      const statuses = subtasks(readTasks(sessionDirs(run.plan)[0]!)).map((s) => s.status);
      expect(statuses.every((s) => s === 'Complete' || s === 'Planned')).toBe(true);
    },
  );

  it('under pnpm exec, a second Ctrl-C reaches the shell, not savepoint, which still saves', async () => {
    // pnpm exits at the first Ctrl-C and the shell takes the terminal back, so the key press goes
    // to the shell. savepoint finishes its graceful shutdown in the background.
    const run = setup((log) => `echo "$SAVEPOINT_ITEM_ID" >> ${quote(log)}; trap "" TERM; sleep 8`);
    run.term.type(run.command('pnpm exec savepoint'));
    await waitFor(() => readLines(run.log).length >= 1, 60_000, 'the first subtask to start');
    run.term.ctrlC();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    run.term.ctrlC();
    await waitFor(() => run.exitCode() !== undefined, 30_000, 'savepoint to exit');
    expect(run.exitCode()).toBe(130);
    const screen = run.term.screen();
    expect(screen).toMatch(/Interrupted\. .*Resume with: /);
    expect(screen).not.toContain('forcing the exit');
  });
});
