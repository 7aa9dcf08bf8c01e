import { constants } from 'node:os';
import { describe } from './internal/describe.ts';

/**
 * The exit code a POSIX shell reports for a process killed by `signal`: 128 plus the signal's
 * number on this platform (`os.constants.signals`). SIGINT gives 130, SIGTERM 143, SIGHUP 129.
 *
 * @throws TypeError when `signal` is not a signal name this platform knows.
 *
 * @example
 * ```ts
 * exitCodeForSignal('SIGINT'); // 130
 * exitCodeForSignal('SIGTERM'); // 143
 * ```
 */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  const number = signalNumber(signal);
  if (number === undefined) {
    throw new TypeError(
      `exitCodeForSignal expected a signal name such as 'SIGINT', got ${describe(signal)}`,
    );
  }
  return 128 + number;
}

/** The platform's number for a signal name, or undefined when it has none. */
export function signalNumber(signal: unknown): number | undefined {
  if (typeof signal !== 'string' || !Object.hasOwn(constants.signals, signal)) return undefined;
  return constants.signals[signal as NodeJS.Signals];
}
