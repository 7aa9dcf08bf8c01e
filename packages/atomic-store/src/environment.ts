import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Why the environment, not the program, made a file operation fail:
 *
 * - `NO_SPACE`: the disk or quota is full (`ENOSPC`, `EDQUOT`)
 * - `READ_ONLY`: the file system is mounted read-only (`EROFS`)
 * - `PERMISSION_DENIED`: the OS refused access (`EACCES`, `EPERM`)
 * - `NOT_A_FOLDER`: a file stands where a folder is needed (`ENOTDIR`)
 */
export type EnvironmentProblem = 'NO_SPACE' | 'READ_ONLY' | 'PERMISSION_DENIED' | 'NOT_A_FOLDER';

/** Options of {@link environmentProblem}. */
export interface EnvironmentProblemOptions {
  /**
   * A path the failed operation was to create. When it does not exist, the nearest folder above
   * it that does is asked for write access: creating a folder on a read-only file system can fail
   * as `ENOENT`, and this finds the real reason.
   */
  readonly path?: string | undefined;
}

const PROBLEMS = new Set<string>(['NO_SPACE', 'READ_ONLY', 'PERMISSION_DENIED', 'NOT_A_FOLDER']);
const ERRNO: Readonly<Record<string, EnvironmentProblem>> = {
  ENOSPC: 'NO_SPACE',
  EDQUOT: 'NO_SPACE',
  EROFS: 'READ_ONLY',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  ENOTDIR: 'NOT_A_FOLDER',
};

/**
 * The {@link EnvironmentProblem} behind `error`, or `undefined` when it is not one: looks at the
 * `code` of the error and of its causes (a `StoreError` code such as `NO_SPACE`, or an errno such
 * as `ENOSPC`), up to six levels deep, so an error wrapped by other packages is still recognised.
 * A tool uses it to say "free some space" instead of printing a stack trace.
 *
 * @example
 * try {
 *   await writeFileAtomic(file, data);
 * } catch (error) {
 *   if (environmentProblem(error) === 'NO_SPACE') console.error('the disk is full');
 * }
 */
export function environmentProblem(
  error: unknown,
  options: EnvironmentProblemOptions = {},
): EnvironmentProblem | undefined {
  for (let at = error, depth = 0; at && typeof at === 'object' && depth < 6; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && (PROBLEMS.has(code) || ERRNO[code])) {
      return ERRNO[code] ?? (code as EnvironmentProblem);
    }
    at = (at as { cause?: unknown }).cause;
  }
  const { path } = options;
  if (typeof path === 'string' && !existsSync(path)) {
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
