import { MAX_TIMER_MS } from './internal/timers.ts';
import type { Worker } from './types.ts';

/**
 * A worker that pretends each attempt takes `ms` milliseconds and succeeds, stopping early (as a
 * failed attempt) when aborted. More than a Node timer holds (2,147,483,647 ms, about 24.8 days)
 * never ends by itself. For demos and tests; never a default.
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
      const timer = ms > MAX_TIMER_MS ? undefined : setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
}
