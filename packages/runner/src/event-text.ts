import type { RunnerEvent } from './types.ts';

/** Options of {@link formatRunnerEvent}. */
export interface EventTextOptions {
  /** The retries allowed: a retry then reads `retry 1 of 2`; without it `retry 1`. */
  readonly retries?: number | undefined;
  /** Who held the claim, named by a `lost` event. @default 'this worker' */
  readonly workerId?: string | undefined;
  /** How many of the last lines of a failure's output to show. @default 5 */
  readonly tailLines?: number;
}

/**
 * The text a person reads for a runner event, or `undefined` for the events a progress display
 * shows instead (`started`, `finished`). The runner prints nothing itself; a CLI passes its
 * events here and writes the text where it likes:
 *
 * - `output`: `[P1.M1.T1.S1] the line`
 * - `retry`: `P1.M1.T1.S1 failed (exit code 1), retry 1 of 2`
 * - `failed`: `P1.M1.T1.S1 failed after 3 attempt(s) (exit code 1)`, then the last lines of its
 *   output, each as `  | line`, and `  log: <path>` (several lines joined by `\n`)
 * - `lost`: `P1.M1.T1.S1: lease lost by <worker> (it stalled past its lease; another worker may
 *   run it): stopped, nothing recorded`
 *
 * @example
 * createRunner({ ...options, onEvent: (event) => {
 *   const text = formatRunnerEvent(event, { retries: 2 });
 *   if (text !== undefined) console.error(text);
 * } });
 */
export function formatRunnerEvent(
  event: RunnerEvent,
  options: EventTextOptions = {},
): string | undefined {
  const id = event.item.id;
  switch (event.type) {
    case 'output':
      return `[${id}] ${event.line}`;
    case 'retry': {
      const of = options.retries === undefined ? '' : ` of ${options.retries}`;
      return `${id} failed (${event.result.message ?? 'failed'}), retry ${event.attempt}${of}`;
    }
    case 'failed': {
      const { failure } = event;
      const tail = failure.outputTail
        .split('\n')
        .filter(Boolean)
        .slice(-(options.tailLines ?? 5));
      return [
        `${id} failed after ${failure.attempts} attempt(s) (${failure.message ?? 'failed'})`,
        ...tail.map((line) => `  | ${line}`),
        ...(failure.logPath ? [`  log: ${failure.logPath}`] : []),
      ].join('\n');
    }
    case 'lost':
      return `${id}: lease lost by ${options.workerId ?? 'this worker'} (it stalled past its lease; another worker may run it): stopped, nothing recorded`;
    default:
      return undefined;
  }
}
