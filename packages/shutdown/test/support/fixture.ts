import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FreshBuild } from './build.ts';

/** One JSON line a fixture script reported. */
export interface FixtureEvent {
  readonly event: string;
  readonly t: number;
  readonly [field: string]: unknown;
}

export interface FixtureExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** `performance.now()` in the test process when the child exited. */
  readonly at: number;
}

/** A running fixture script. */
export interface Fixture {
  readonly child: ChildProcess;
  readonly events: FixtureEvent[];
  stderr(): string;
  /** Resolves with the first event (already seen or future) matching `test`. */
  waitFor(test: (event: FixtureEvent) => boolean, timeoutMs?: number): Promise<FixtureEvent>;
  /** Sends a real signal; returns `performance.now()` at the moment of sending. */
  send(signal: NodeJS.Signals): number;
  /** Sends a real signal to the whole process group, as a terminal does on Ctrl-C. */
  sendToGroup(signal: NodeJS.Signals): number;
  readonly exited: Promise<FixtureExit>;
}

const running = new Set<ChildProcess>();
/** Fixtures that lead a process group of their own. */
const leaders = new WeakSet<ChildProcess>();

/** How to start a fixture. */
export interface FixtureOptions {
  /**
   * A command to run the fixture under, such as `['pnpm', 'exec']`: the fixture is then started
   * as `<via...> <node> <script>` in a process group of its own (led by the first process), as a
   * terminal starts a command line, and `sendToGroup` plays the terminal's Ctrl-C.
   */
  via?: readonly string[];
  cwd?: string;
}

/** Starts `test/fixtures/<script>` with plain Node against a fresh build of the package. */
export function startFixture(
  build: FreshBuild,
  script: string,
  scenario?: unknown,
  options: FixtureOptions = {},
): Fixture {
  const path = fileURLToPath(new URL(`../fixtures/${script}`, import.meta.url));
  const env = {
    ...process.env,
    SHUTDOWN_MODULE: build.esm,
    SHUTDOWN_MODULE_CJS: build.cjs,
    SHUTDOWN_SCENARIO: JSON.stringify(scenario ?? {}),
  };
  const via = options.via ?? [];
  const child =
    via.length === 0
      ? spawn(process.execPath, [path], {
          env,
          cwd: options.cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
        })
      : spawn(via[0]!, [...via.slice(1), process.execPath, path], {
          env,
          cwd: options.cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
  running.add(child);
  if (via.length > 0) leaders.add(child);
  const events: FixtureEvent[] = [];
  const waiters = new Set<() => void>();
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
    let newline = stdout.indexOf('\n');
    while (newline !== -1) {
      const line = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      // A package manager in between may print lines of its own.
      if (line.trim().startsWith('{')) events.push(JSON.parse(line) as FixtureEvent);
      newline = stdout.indexOf('\n');
    }
    for (const wake of [...waiters]) wake();
  });
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  let closed = false;
  const exited = new Promise<FixtureExit>((resolve) => {
    child.on('close', (code, signal) => {
      const at = performance.now();
      closed = true;
      running.delete(child);
      for (const wake of [...waiters]) wake();
      resolve({ code, signal, at });
    });
  });

  return {
    child,
    events,
    stderr: () => stderr,
    exited,
    send(signal) {
      const at = performance.now();
      child.kill(signal);
      return at;
    },
    sendToGroup(signal) {
      const at = performance.now();
      if (child.pid !== undefined) process.kill(-child.pid, signal);
      return at;
    },
    waitFor(test, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(test);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (closed) {
            done();
            reject(
              new Error(
                `fixture exited first; events: ${JSON.stringify(events)}; stderr: ${stderr}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`timed out waiting; events: ${JSON.stringify(events)}; stderr: ${stderr}`),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Kills any fixture a failed test left running (with its process group, if it leads one). */
export function killFixtures(): void {
  for (const child of running) {
    try {
      if (leaders.has(child) && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
    child.kill('SIGKILL');
  }
  running.clear();
}
