import type { LockHolder } from './lock.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';

/**
 * Every reason a store operation can fail for, as a closed set.
 *
 * | code | raised when |
 * | --- | --- |
 * | `NOT_FOUND` | the file or its folder does not exist (`ENOENT`, `ENOTDIR`) |
 * | `PERMISSION_DENIED` | the OS refused access (`EACCES`, `EPERM`) |
 * | `NO_SPACE` | the disk or quota is full (`ENOSPC`, `EDQUOT`) |
 * | `READ_ONLY` | the file system is mounted read-only (`EROFS`) |
 * | `BUSY` | a transient error outlasted every retry (`EBUSY`, `EAGAIN`, `EMFILE`, `ENFILE`, ...) |
 * | `IS_DIRECTORY` | the target is a folder (`EISDIR`) |
 * | `IO` | any other OS error, `EIO` included |
 * | `LOCKED` | a lock is held by another live holder |
 * | `LOCK_LOST` | a held lock was found removed or taken over |
 * | `INVALID_JSON` | a file is not valid JSON (see `line` and `column`) |
 * | `SCHEMA` | a value failed its schema (see `issues`) |
 * | `ABORTED` | the caller's `AbortSignal` fired before the work was done |
 * | `CLOSED` | an `AppendFile` was used after `close()` |
 */
export type StoreErrorCode =
  | 'NOT_FOUND'
  | 'PERMISSION_DENIED'
  | 'NO_SPACE'
  | 'READ_ONLY'
  | 'BUSY'
  | 'IS_DIRECTORY'
  | 'IO'
  | 'LOCKED'
  | 'LOCK_LOST'
  | 'INVALID_JSON'
  | 'SCHEMA'
  | 'ABORTED'
  | 'CLOSED';

/**
 * The step an operation was at when it failed.
 *
 * Writes go `stat` (look at the target, follow symlinks), `open` (create the temp file),
 * `write`, `chown` (only as root, to keep another user's ownership), `chmod`, `fsync`, `close`,
 * `backup` (the `.bak` link of a JSON file), `rename`, `fsync-dir`. A write that has not started
 * yet fails at `queue`. Reads go `read`, `parse`, `validate`; `recover` is the move of a corrupt
 * file aside. Locks use `lock` and `unlock`; {@link sweepTempFiles} uses `sweep`.
 *
 * Appends (`AppendFile`) go `open` (and `fsync-dir` when the file was created), then per
 * append `write`, `fsync`; `truncate` is cutting the file (an explicit truncate, or an earlier
 * failed append's tail that could not be cut at the time); `close` ends the handle.
 */
export type StoreStep =
  | 'queue'
  | 'stat'
  | 'open'
  | 'write'
  | 'chown'
  | 'chmod'
  | 'fsync'
  | 'close'
  | 'backup'
  | 'rename'
  | 'fsync-dir'
  | 'read'
  | 'parse'
  | 'validate'
  | 'recover'
  | 'lock'
  | 'unlock'
  | 'sweep'
  | 'truncate';

/** Extra fields a {@link StoreError} may carry, depending on its code. */
export interface StoreErrorDetails {
  /** The file (or lock file, or folder) the operation was about. */
  path: string;
  /** The step that failed. */
  step: StoreStep;
  /** The underlying error: an OS error, a `SyntaxError`, an abort reason. */
  cause?: unknown;
  /** `INVALID_JSON` only: 1-based line of the first syntax error. */
  line?: number;
  /** `INVALID_JSON` only: 1-based column (in UTF-16 code units) of the first syntax error. */
  column?: number;
  /** `SCHEMA` only: the issues reported by the schema. */
  issues?: ReadonlyArray<StandardSchemaV1.Issue>;
  /** `LOCKED` and `LOCK_LOST` only: who holds the lock, when it could be read. */
  holder?: LockHolder;
}

/**
 * The one error class of `@savepoint/atomic-store`. Branch on `code`, which is one of a closed
 * set ({@link StoreErrorCode}); `step` says how far the operation got and `cause` keeps the
 * original error.
 *
 * @example
 * ```ts
 * try {
 *   await writeFileAtomic('state.json', text);
 * } catch (error) {
 *   if (error instanceof StoreError && error.code === 'NO_SPACE') freeSomeSpace();
 *   else throw error;
 * }
 * ```
 */
export class StoreError extends Error {
  /** Why it failed. */
  readonly code: StoreErrorCode;
  /** The file the operation was about. */
  readonly path: string;
  /** Where it failed. */
  readonly step: StoreStep;
  /** `INVALID_JSON`: 1-based line of the first syntax error. */
  readonly line: number | undefined;
  /** `INVALID_JSON`: 1-based column of the first syntax error. */
  readonly column: number | undefined;
  /** `SCHEMA`: the schema's issues. */
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue> | undefined;
  /** `LOCKED` / `LOCK_LOST`: the lock's holder, when known. */
  readonly holder: LockHolder | undefined;

  constructor(code: StoreErrorCode, message: string, details: StoreErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'StoreError';
    this.code = code;
    this.path = details.path;
    this.step = details.step;
    this.line = details.line;
    this.column = details.column;
    this.issues = details.issues;
    this.holder = details.holder;
  }
}

/** Maps an OS error code (`ENOSPC`) to the package's closed set. */
export function codeForErrno(errno: string | undefined): StoreErrorCode {
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'NOT_FOUND';
    case 'EACCES':
    case 'EPERM':
      return 'PERMISSION_DENIED';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'NO_SPACE';
    case 'EROFS':
      return 'READ_ONLY';
    case 'EBUSY':
    case 'EAGAIN':
    case 'EWOULDBLOCK':
    case 'EMFILE':
    case 'ENFILE':
    case 'ETXTBSY':
      return 'BUSY';
    case 'EISDIR':
      return 'IS_DIRECTORY';
    case 'ABORT_ERR':
      return 'ABORTED';
    default:
      return 'IO';
  }
}

/**
 * Wraps an OS error met at `step` on `path`; a `StoreError` passes through unchanged so that
 * nested helpers keep the innermost, most precise step.
 */
export function toStoreError(error: unknown, step: StoreStep, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const errno = errnoOf(error);
  const code = codeForErrno(errno);
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError(code, `${STEP_WORDS[step]} failed for ${path}: ${reason}`, {
    path,
    step,
    cause: error,
  });
}

/** The `code` property of an OS error, if it has one. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The error an `AbortSignal` turns into, at the step where it was noticed. */
export function abortError(signal: AbortSignal, step: StoreStep, path: string): StoreError {
  return new StoreError('ABORTED', `The operation on ${path} was aborted (step '${step}')`, {
    path,
    step,
    cause: signal.reason,
  });
}

/** A short description of a value for `TypeError` messages: `got 42 (number)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} (${typeof value})`;
  }
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
}

const STEP_WORDS: Record<StoreStep, string> = {
  queue: 'Queueing the write',
  stat: 'Looking up the target',
  open: 'Creating the temp file',
  write: 'Writing the temp file',
  chown: 'Keeping the owner',
  chmod: 'Setting the mode',
  fsync: 'Flushing the temp file to disk',
  close: 'Closing the temp file',
  backup: 'Keeping a backup',
  rename: 'Renaming the temp file into place',
  'fsync-dir': 'Flushing the folder to disk',
  read: 'Reading',
  parse: 'Parsing',
  validate: 'Validating',
  recover: 'Moving the corrupt file aside',
  lock: 'Taking the lock',
  unlock: 'Releasing the lock',
  sweep: 'Sweeping temp files',
  truncate: 'Truncating the file',
};
