/**
 * Why the runner failed.
 *
 * - `SPAWN`: a command worker could not be started (`/bin/sh` missing, too many processes, an
 *   environment the kernel refuses); {@link RunnerError.cause} carries the system error.
 * - `IO`: a file of the runner (`run.json`, a log, the item file, the process-group record) could
 *   not be read or written; {@link RunnerError.path} names it.
 * - `INVALID_CONFIG`: `run.json` exists but is not a run configuration.
 * - `NO_SESSION`: the session manager given to the runner has no open session.
 * - `PLANNER_FAILED`: a planner command ({@link runPlanner}) exited with a code other than 0 or
 *   by a signal; the message ends with the end of what it wrote on stderr.
 * - `ABORTED`: the caller's `AbortSignal` stopped a planner command.
 * - `NO_WORKER`: a run has no worker: no command stored or given, and no other worker
 *   ({@link resolveRunConfig}).
 * - `UNKNOWN_SCOPE`: the scope of a run names no item of the backlog ({@link openRun});
 *   {@link RunnerError.itemId} is the scope.
 */
export type RunnerErrorCode =
  | 'SPAWN'
  | 'IO'
  | 'INVALID_CONFIG'
  | 'NO_SESSION'
  | 'PLANNER_FAILED'
  | 'ABORTED'
  | 'NO_WORKER'
  | 'UNKNOWN_SCOPE';

/** Every {@link RunnerErrorCode}, for exhaustive checks and documentation. */
export const RUNNER_ERROR_CODES: readonly RunnerErrorCode[] = Object.freeze([
  'SPAWN',
  'IO',
  'INVALID_CONFIG',
  'NO_SESSION',
  'PLANNER_FAILED',
  'ABORTED',
  'NO_WORKER',
  'UNKNOWN_SCOPE',
]);

/** Details accepted by the {@link RunnerError} constructor. */
export interface RunnerErrorDetails {
  /** The file involved. */
  path?: string;
  /** The subtask involved. */
  itemId?: string;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error class of `@savepoint/runner`. Branch on {@link RunnerError.code}.
 *
 * @see runPlanner for `PLANNER_FAILED` and `ABORTED`
 * @see openRun for `NO_WORKER` and `UNKNOWN_SCOPE`
 */
export class RunnerError extends Error {
  override readonly name = 'RunnerError';
  /** Why it failed. */
  readonly code: RunnerErrorCode;
  /** The file involved, if any. */
  readonly path: string | undefined;
  /** The subtask involved, if any. */
  readonly itemId: string | undefined;

  constructor(code: RunnerErrorCode, message: string, details: RunnerErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.path = details.path;
    this.itemId = details.itemId;
  }
}
