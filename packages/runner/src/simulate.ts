import type { Worker } from './types.ts';

/**
 * A worker that pretends each attempt takes `ms` milliseconds and succeeds, stopping early (as a
 * failed attempt) when aborted. For demos and tests; never a default.
 */
export function simulatedWorker(ms: number): Worker {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`simulatedWorker expected a duration of 0 ms or more, got ${String(ms)}`);
  }
  return (_item, _context, signal) =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(signal.aborted ? { ok: false, message: 'aborted' } : { ok: true });
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
}
