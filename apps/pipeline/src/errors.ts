import { accessSync, constants, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DecomposeError } from '@savepoint/decompose';
import { RunnerError } from '@savepoint/runner';
import { SessionError } from '@savepoint/session';
import { BacklogError, formatIssue } from '@savepoint/task-schema';

/** Exit codes of the `savepoint` CLI. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  INPUT: 2,
  LOCKED: 3,
  /** The environment failed (disk full, read-only, permission, a file where a folder should be). */
  ENVIRONMENT: 4,
} as const;

/** An error the CLI reports as one clear message and an exit code, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.INPUT,
  ) {
    super(message);
  }
}

const PROBLEMS: Record<string, [problem: string, fix: string]> = {
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
const ERRNO: Record<string, string> = {
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EROFS: 'READ_ONLY',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  ENOTDIR: 'NOT_A_FOLDER',
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
  const environment = environmentProblem(error);
  if (environment && planDir !== undefined) {
    const [problem, fix] = PROBLEMS[environment]!;
    return {
      message: `cannot use the plan folder ${planDir}: ${problem}. Nothing already saved was lost; ${fix}, then run the command again.`,
      exitCode: EXIT.ENVIRONMENT,
    };
  }
  if (error instanceof BacklogError) {
    const shown = error.issues.filter((issue) => issue.severity === 'error').slice(0, 20);
    const lines = shown.map((issue) => `  ${formatIssue(issue)}`);
    const more =
      error.issues.length > shown.length
        ? [`  ... and ${error.issues.length - shown.length} more`]
        : [];
    const head = error.source ? `${error.source}: invalid backlog (${error.code})` : error.message;
    return { message: [head, ...lines, ...more].join('\n'), exitCode: EXIT.INPUT };
  }
  if (error instanceof RunnerError) {
    return {
      message: error.message,
      exitCode: error.code === 'INVALID_CONFIG' ? EXIT.INPUT : EXIT.FAILED,
    };
  }
  if (error instanceof SessionError) {
    if (error.code === 'INVALID_BACKLOG') {
      return { message: `${error.message}\n${recoveryHint(error)}`, exitCode: EXIT.INPUT };
    }
    if (error.code === 'NOT_FOUND' || error.code === 'UNKNOWN_ITEM') {
      return { message: error.message, exitCode: EXIT.INPUT };
    }
    if (error.code === 'CORRUPT' || error.code === 'INCOMPLETE_SESSION') {
      return { message: `${error.message}\n${damageHint(error)}`, exitCode: EXIT.INPUT };
    }
    return { message: error.message, exitCode: EXIT.FAILED };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${message}`, exitCode: EXIT.FAILED };
}

/** `NO_SPACE`, `READ_ONLY`, `PERMISSION_DENIED` or `NOT_A_FOLDER` when that is why `error` happened. */
export function environmentProblem(error: unknown): string | undefined {
  for (let at = error, depth = 0; at && typeof at === 'object' && depth < 6; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && (PROBLEMS[code] || ERRNO[code])) return ERRNO[code] ?? code;
    at = (at as { cause?: unknown }).cause;
  }
  // Creating a folder on a read-only file system can fail as ENOENT: ask the nearest existing folder.
  const path = (error as { path?: unknown } | undefined)?.path;
  if (error instanceof SessionError && typeof path === 'string' && !existsSync(path)) {
    let at = path;
    while (!existsSync(at) && at !== dirname(at)) at = dirname(at);
    try {
      accessSync(at, constants.W_OK);
    } catch (cause) {
      return environmentProblem(cause);
    }
  }
  return undefined;
}

/** How to get a damaged session going again: which file, and what to do with it. */
export function recoveryHint(error: SessionError): string {
  const folder = sessionFolderOf(error.path);
  if (!folder)
    return 'To recover: fix the backlog file named above, or start over with a new plan folder.';
  const tasks = join(folder, 'tasks.json');
  const backup = `${tasks}.bak`;
  const steps = [
    existsSync(backup)
      ? `restore the last good copy with: cp '${backup}' '${tasks}'`
      : `fix ${tasks} at the place named above (savepoint validate '${tasks}' lists every problem)`,
    `or remove the folder ${folder} to start that session over`,
  ];
  return `To recover: ${steps.join('; ')}.`;
}

/** How to get past a damaged journal or a session folder that lacks a required file. */
function damageHint(error: SessionError): string {
  const folder = sessionFolderOf(error.path) ?? error.path ?? 'the session folder';
  const start = `or remove the folder ${folder} to start that session over`;
  if (error.code === 'CORRUPT' && error.path && typeof error.offset === 'number') {
    return `To recover: keep the changes saved before the damage with: truncate -s ${error.offset} '${error.path}'; ${start}.`;
  }
  return `To recover: put the missing file back (from a backup or the parent session), ${start}.`;
}

function sessionFolderOf(path: string | undefined): string | undefined {
  for (let at = path; at && at !== dirname(at); at = dirname(at)) {
    if (/^\d{3}_[0-9a-f]{12}$/.test(basename(at))) return at;
  }
  return undefined;
}
