import { type EnvironmentProblem, environmentProblem } from '@savepoint/atomic-store';
import { DecomposeError } from '@savepoint/decompose';
import { RunnerError } from '@savepoint/runner';
import { recoveryHint, SessionError } from '@savepoint/session';
import { BacklogError, formatBacklogError } from '@savepoint/task-schema';
import { CliError, EXIT } from './errors.ts';

const PROBLEMS: Record<EnvironmentProblem, [problem: string, fix: string]> = {
  NO_SPACE: ['the disk is full', 'free some space'],
  READ_ONLY: ['the file system is read-only', 'make it writable or choose another --plan-dir'],
  PERMISSION_DENIED: [
    'permission was denied',
    "fix the folder's permissions or choose another --plan-dir",
  ],
  NOT_A_FOLDER: [
    'a file stands where a folder is needed',
    'move that file away or choose another --plan-dir',
  ],
};

/**
 * The message and exit code for an error that reached the top of a command. `planDir` is the
 * folder named when the environment failed (never a temp or lock file inside it).
 */
export function describeError(
  error: unknown,
  planDir?: string,
): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof DecomposeError) return { message: error.message, exitCode: EXIT.INPUT };
  if (error instanceof SessionError && error.code === 'LOCKED') {
    return { message: error.message, exitCode: EXIT.LOCKED };
  }
  const path = error instanceof SessionError ? error.path : undefined;
  const environment = environmentProblem(error, { path });
  if (environment && planDir !== undefined) {
    const [problem, fix] = PROBLEMS[environment];
    return {
      message: `cannot use the plan folder ${planDir}: ${problem}. Nothing already saved was lost; ${fix}, then run the command again.`,
      exitCode: EXIT.ENVIRONMENT,
    };
  }
  if (error instanceof BacklogError) {
    return { message: formatBacklogError(error), exitCode: EXIT.INPUT };
  }
  if (error instanceof RunnerError && error.code === 'NO_WORKER') {
    // Simulated work happens only when asked for: no worker at all is a usage error.
    return {
      message:
        'no worker for this session: add --exec CMD to run CMD once per subtask (it is remembered for resume), or --simulate MS to pretend each subtask takes MS milliseconds',
      exitCode: EXIT.INPUT,
    };
  }
  if (error instanceof RunnerError) {
    const input = error.code === 'INVALID_CONFIG' || error.code === 'UNKNOWN_SCOPE';
    return { message: error.message, exitCode: input ? EXIT.INPUT : EXIT.FAILED };
  }
  if (error instanceof SessionError) {
    const hint = recoveryHint(error);
    if (hint) return { message: `${error.message}\n${hint}`, exitCode: EXIT.INPUT };
    if (error.code === 'NOT_FOUND' || error.code === 'UNKNOWN_ITEM') {
      return { message: error.message, exitCode: EXIT.INPUT };
    }
    return { message: error.message, exitCode: EXIT.FAILED };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${message}`, exitCode: EXIT.FAILED };
}
