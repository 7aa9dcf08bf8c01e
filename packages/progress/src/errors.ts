/**
 * Why a {@link ProgressError} was thrown.
 *
 * - `LISTENER_FAILED`: one or more subscribers threw while the tracker was announcing a change.
 *   The change itself was applied and every other subscriber was still called.
 * - `WRITE_FAILED`: a renderer's `stream.write` threw. The renderer stops itself so the run can
 *   go on without a display.
 */
export type ProgressErrorCode = 'LISTENER_FAILED' | 'WRITE_FAILED';

/** Options for {@link ProgressError}. */
export interface ProgressErrorOptions {
  /** The item the failure concerns, when there is one. */
  id?: string | undefined;
  /** The event being announced (`LISTENER_FAILED`) or the renderer kind (`WRITE_FAILED`). */
  source?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error class of `@savepoint/progress`. Caller misuse (a negative total, an unknown
 * event name, completing a skipped item) throws `TypeError` instead.
 *
 * @example
 * ```ts
 * try {
 *   tracker.complete('P1.M1.T1.S1');
 * } catch (error) {
 *   if (error instanceof ProgressError && error.code === 'LISTENER_FAILED') {
 *     console.error(`a subscriber of ${error.source} failed`, error.cause);
 *   }
 * }
 * ```
 */
export class ProgressError extends Error {
  /** Which of the closed set of failures this is. */
  readonly code: ProgressErrorCode;
  /** The item id the failure concerns, if any. */
  readonly id: string | undefined;
  /** The event name or renderer kind involved, if any. */
  readonly source: string | undefined;

  constructor(code: ProgressErrorCode, message: string, options: ProgressErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProgressError';
    this.code = code;
    this.id = options.id;
    this.source = options.source;
  }
}
