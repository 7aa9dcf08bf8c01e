import { uptime } from 'node:os';
import { fsx } from './fs.ts';

/**
 * Whether a process with this pid runs on this machine (one we may not signal counts). On Linux
 * a zombie, killed but not yet reaped by its parent, counts as dead.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = procStat(pid)?.state;
  return state !== 'Z' && state !== 'X';
}

/**
 * When the process with this pid started, in clock ticks since boot (`/proc/<pid>/stat` field
 * 22); known on Linux only. With the pid it names one process for as long as the machine runs:
 * a pid used again by a later process has a later start.
 */
export function processStartTicks(pid: number): number | undefined {
  const ticks = procStat(pid)?.startTicks;
  return ticks !== undefined && Number.isSafeInteger(ticks) ? ticks : undefined;
}

/** When the process with this pid started, in epoch milliseconds; known on Linux only. */
export function processStartMs(pid: number): number | undefined {
  const stat = procStat(pid);
  if (stat === undefined || !Number.isFinite(stat.startTicks)) return undefined;
  // The kernel counts start times in USER_HZ ticks, 100 a second on every Linux ABI.
  return bootTimeMs() + stat.startTicks * 10;
}

/** When this machine booted, in epoch milliseconds. */
export function bootTimeMs(): number {
  return Date.now() - uptime() * 1000;
}

/**
 * The longest delay a Node timer holds (about 24.8 days); `setTimeout` and `setInterval` with more
 * fire after 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` (at most {@link MAX_TIMER_MS}), or rejects with the signal's reason once it
 * aborts.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let sleeper: Int32Array | undefined;

/** Blocks the thread for `ms` without spinning; used only between retries of sync writes. */
export function sleepSync(ms: number): void {
  sleeper ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The delay before retry number `attempt` (0-based): doubling from 10 ms, capped, with jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(10 * 2 ** attempt, 500);
  return base / 2 + Math.random() * (base / 2);
}

function procStat(pid: number): { state: string; startTicks: number } | undefined {
  if (process.platform !== 'linux') return undefined;
  let text: string;
  try {
    text = fsx.readFileSync(`/proc/${pid}/stat`).toString('utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTicks: Number(fields[19]) };
}
