import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** What one attempt of a worker did. */
export interface WorkerResult {
  /** Exit code, or null when the worker ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the worker, if any. */
  signal: NodeJS.Signals | null;
  /** The last lines of stdout and stderr, interleaved as they arrived. */
  outputTail: string;
  /** True when the attempt was cut short by the abort signal. */
  aborted: boolean;
}

/** Options for {@link runShellCommand}. */
export interface ShellOptions {
  /** Extra environment variables; the item's data travels here, never in the command string. */
  env: Record<string, string>;
  cwd?: string;
  /** Aborting sends SIGTERM to the worker's process group, then SIGKILL after `graceMs`. */
  signal: AbortSignal;
  /** @default 5000 */
  graceMs?: number;
  /** How much output to keep for the error report. @default 4096 */
  tailBytes?: number;
}

/**
 * Runs `command` through `/bin/sh -c` in a process group of its own, so that stopping it stops
 * everything it started (a build tool's children, an agent's subprocesses).
 */
export function runShellCommand(command: string, options: ShellOptions): Promise<WorkerResult> {
  const tailBytes = options.tailBytes ?? 4096;
  const graceMs = options.graceMs ?? 5000;
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      resolve({ exitCode: null, signal: null, outputTail: '', aborted: true });
      return;
    }
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-tailBytes);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);

    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      aborted = true;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), graceMs);
      killTimer.unref();
    };
    options.signal.addEventListener('abort', onAbort, { once: true });

    child.once('error', (error) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      options.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      // The shell may be gone while something it started still runs: make sure the group goes too.
      if (aborted) signalGroup(child.pid, 'SIGKILL');
      resolve({ exitCode, signal, outputTail: tail, aborted });
    });
  });
}

/** Pretends to work for `ms` milliseconds; stops early when aborted. */
export async function simulateWork(ms: number, signal: AbortSignal): Promise<WorkerResult> {
  try {
    await sleep(ms, undefined, { signal });
    return { exitCode: 0, signal: null, outputTail: '', aborted: false };
  } catch (error) {
    if (signal.aborted) return { exitCode: null, signal: null, outputTail: '', aborted: true };
    throw error;
  }
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
