import { uptime } from 'node:os';

/** Whether a process with this pid exists on this machine (a pid we may not signal counts). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When this machine booted, in epoch milliseconds. */
export function bootTimeMs(): number {
  return Date.now() - uptime() * 1000;
}

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
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
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
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
