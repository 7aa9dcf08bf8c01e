import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureBuilt, packageDir } from './support/build.ts';
import { C1, CONTROL, ESC } from './support/fake-stream.ts';
import { lastLine, replay } from './support/screen.ts';

const fixture = join(packageDir, 'test', 'fixtures', 'drive-renderer.mjs');
const hasScript = (() => {
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && /util-linux/.test(probe.stdout);
})();
if (!hasScript) {
  console.warn('pty tests skipped: util-linux `script` was not found on PATH');
}

let work: string;
beforeAll(() => ensureBuilt(), 180_000);
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'progress-pty-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  output: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `Date.now()` when the child closed. */
  closedAt: number;
  facts: Record<string, unknown> | undefined;
}

/**
 * A child still running this long is stuck, not slow, and is killed so the test fails with what
 * it printed instead of timing out: even a fully loaded machine starts Node in a few seconds.
 */
const STUCK_MS = 20_000;

/** Environment with the variables that steer rendering removed, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['CI', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'COLUMNS', 'LINES']) delete env[key];
  return { ...env, ...extra };
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs the fixture on a real pseudo-terminal of `columns` columns through util-linux `script`
 * and collects everything the terminal received.
 */
function runOnPty(
  scenario: string,
  options: {
    columns: number;
    env?: Record<string, string>;
    onOutput?: (output: string, child: ChildProcess) => void;
  },
): Promise<Run> {
  const out = join(work, 'facts.json');
  const command = `stty cols ${options.columns} rows 24 && exec ${quote(process.execPath)} ${quote(fixture)}`;
  return collect(
    spawn('script', ['-qfec', command, '/dev/null'], {
      env: cleanEnv({
        TERM: 'xterm-256color',
        FIXTURE_SCENARIO: scenario,
        FIXTURE_OUT: out,
        ...options.env,
      }),
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
    out,
    options.onOutput,
  );
}

function collect(
  child: ChildProcess,
  factsFile: string,
  onOutput?: (output: string, child: ChildProcess) => void,
): Promise<Run> {
  let output = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    output += chunk;
    onOutput?.(output, child);
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    output += chunk;
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), STUCK_MS);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      let facts: Record<string, unknown> | undefined;
      try {
        facts = JSON.parse(readFileSync(factsFile, 'utf8'));
      } catch {
        facts = undefined;
      }
      resolve({ output, code, signal, closedAt: Date.now(), facts });
    });
  });
}

describe.skipIf(!hasScript)('terminal renderer on a real pseudo-terminal', () => {
  it('picks the bar, fits 60 columns and leaves the final state on the last line', async () => {
    const run = await runOnPty('run', { columns: 60 });
    expect(run.code, run.output).toBe(0);
    expect(run.facts).toMatchObject({ kind: 'terminal', isTTY: true, columns: 60 });
    const screen = replay(run.output, 60);
    expect(screen.wrapped).toBe(false);
    expect(Math.max(...screen.widths)).toBeLessThanOrEqual(60);
    const final = lastLine(screen);
    expect(final).toBe('[######--------------] 33.3% 4/12 · 2 failed · ETA 2m00s');
    expect(screen.cursorVisible).toBe(true);
    expect(screen.hides).toBe(1);
    expect(screen.shows).toBe(1);
    // The bar was redrawn in place along the way rather than printed once at the end.
    expect(run.output.split('\r').length).toBeGreaterThan(5);
    expect(screen.lines.filter((line) => line !== '')).toHaveLength(1);
    expect(screen.sawColor).toBe(true);
  });

  it('shortens the title to fit a wider terminal', async () => {
    const run = await runOnPty('run', { columns: 100 });
    expect(run.code, run.output).toBe(0);
    const screen = replay(run.output, 100);
    expect(screen.wrapped).toBe(false);
    const final = lastLine(screen);
    expect(
      final.startsWith(
        '[######--------------] 33.3% 4/12 · 2 failed · 3.0/min · ETA 2m00s · P1.M3.T2.S1 Reconcile',
      ),
    ).toBe(true);
    expect(final.endsWith('…')).toBe(true);
    expect([...final].length).toBe(99);
  });

  it('writes no colour when NO_COLOR is set', async () => {
    const run = await runOnPty('run', { columns: 80, env: { NO_COLOR: '1' } });
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toMatch(/\u001b\[[0-9;]*m/);
    expect(lastLine(replay(run.output, 80))).toMatch(
      /^\[######-+\] 33\.3% 4\/12 · 2 failed · 3\.0\/min · ETA 2m00s/,
    );
  });

  it('falls back to plain lines on a terminal when CI is set', async () => {
    const run = await runOnPty('run', { columns: 80, env: { CI: 'true' } });
    expect(run.code, run.output).toBe(0);
    expect(run.facts).toMatchObject({ kind: 'plain', isTTY: true });
    expect(run.output).not.toMatch(ESC);
    const lines = run.output.split('\r\n').filter((line) => line !== '');
    expect(lines.at(-1)).toBe('Progress: 4/12 complete (33.3%), 2 failed, 6 remaining');
    expect(lines).toContain('[3/12 25.0%] completed P1.M1.T1.S1 Read the PRD (3.0/min)');
  });

  it('does not stand in the way of Ctrl-C', async () => {
    let sentAt: number | undefined;
    const run = await runOnPty('sigint-default', {
      columns: 80,
      onOutput: (output, child) => {
        if (sentAt === undefined && output.includes('P9.M9.T9.S9')) {
          sentAt = Date.now();
          child.stdin!.write('\u0003');
        }
      },
    });
    expect(sentAt).toBeDefined();
    expect(run.facts).toEqual({ sigintListeners: 0 });
    // util-linux script reports a child killed by signal N as 128 + N.
    expect(run.code).toBe(130);
    // Promptness after Ctrl-C is the point: without a listener in the way the default action
    // ends the process at once. The bound is generous for a fully loaded machine; a renderer that
    // swallowed the signal would leave the process running until it is killed as stuck.
    expect(run.closedAt - sentAt!).toBeLessThan(5_000);
  });

  it('restores the cursor when the caller stops it from its own SIGINT handler', async () => {
    let sent = false;
    const run = await runOnPty('sigint-handled', {
      columns: 80,
      onOutput: (output, child) => {
        if (!sent && output.includes('P9.M9.T9.S9')) {
          sent = true;
          child.stdin!.write('\u0003');
        }
      },
    });
    expect(run.facts).toEqual({ sigintListeners: 1 });
    expect(run.code).toBe(130);
    const screen = replay(run.output.replace('^C', ''), 80);
    expect(screen.cursorVisible).toBe(true);
    expect(lastLine(screen)).toMatch(
      /^\[###-+\] 16\.7% 2\/12 · P9\.M9\.T9\.S9 waiting for Ctrl-C$/,
    );
  });
});

describe('renderers in a real child process without a terminal', () => {
  it('write plain lines with no control characters to a pipe', async () => {
    const out = join(work, 'facts.json');
    const run = await collect(
      spawn(process.execPath, [fixture], {
        env: cleanEnv({ FIXTURE_SCENARIO: 'run', FIXTURE_OUT: out }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      out,
    );
    expect(run.code, run.output).toBe(0);
    expect(run.facts).toMatchObject({ kind: 'plain', isTTY: false });
    expect(run.output).not.toMatch(CONTROL);
    expect(run.output).not.toMatch(C1);
    expect(run.output.endsWith('Progress: 4/12 complete (33.3%), 2 failed, 6 remaining\n')).toBe(
      true,
    );
  });

  it('never keep the process alive when nobody stops them', async () => {
    const out = join(work, 'facts.json');
    const run = await collect(
      spawn(process.execPath, [fixture], {
        env: cleanEnv({ FIXTURE_SCENARIO: 'left-running', FIXTURE_OUT: out }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
      out,
    );
    // Exited by itself, with 0: a renderer whose timer held the process open would have kept it
    // running until it is killed as stuck (code null, signal SIGKILL).
    expect(run.code, run.output).toBe(0);
    expect(run.signal).toBeNull();
    expect(run.facts).toHaveProperty('started');
  });
});
