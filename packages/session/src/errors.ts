/**
 * Why a session operation failed.
 *
 * - `LOCKED`: another live process holds the session (or the plan directory's creation lock);
 *   {@link SessionError.holder} names it.
 * - `LOCK_LOST`: this process's hold on the session was removed or taken over (after it stopped
 *   refreshing the lock for too long); nothing more is written, so two processes never write the
 *   same session.
 * - `NOT_FOUND`: the PRD file or the session does not exist.
 * - `INCOMPLETE_SESSION`: a folder named like a session lacks a required file;
 *   {@link SessionError.path} names the folder and the message the missing file.
 * - `CORRUPT`: a session's change log (`tasks.journal`) is damaged before its tail;
 *   {@link SessionError.path} names the file and {@link SessionError.offset} the byte offset of
 *   the first damaged record. Never skipped silently.
 * - `INVALID_BACKLOG`: a backlog (from `tasks.json`, or given to `initialize` or `saveBacklog`)
 *   failed validation or cannot be written as JSON (a BigInt, a function, a cycle);
 *   {@link SessionError.issues} lists why.
 * - `UNKNOWN_ITEM`: no item with that id exists in the session's backlog.
 * - `NO_SESSION`: the operation needs an open session (call `initialize()` or `loadSession()`
 *   first, and not after `close()`).
 * - `ABORTED`: the caller's `AbortSignal` fired while waiting.
 * - `INVALID_URL`: a store's address (a `postgres://` connection string given as an option) is
 *   empty or not one the store takes; the message names where it came from, without a password.
 * - `IO`: any other storage failure; {@link SessionError.cause} carries the underlying error.
 */
export type SessionErrorCode =
  | 'LOCKED'
  | 'LOCK_LOST'
  | 'NOT_FOUND'
  | 'INCOMPLETE_SESSION'
  | 'CORRUPT'
  | 'INVALID_BACKLOG'
  | 'UNKNOWN_ITEM'
  | 'NO_SESSION'
  | 'ABORTED'
  | 'INVALID_URL'
  | 'IO';

/** Every {@link SessionErrorCode}, for exhaustive checks and documentation. */
export const SESSION_ERROR_CODES: readonly SessionErrorCode[] = Object.freeze([
  'LOCKED',
  'LOCK_LOST',
  'NOT_FOUND',
  'INCOMPLETE_SESSION',
  'CORRUPT',
  'INVALID_BACKLOG',
  'UNKNOWN_ITEM',
  'NO_SESSION',
  'ABORTED',
  'INVALID_URL',
  'IO',
]);

/** The process that holds a lock, as recorded in the lock file. */
export interface SessionLockHolder {
  /** Process id of the holder. */
  readonly pid: number;
  /** Host name of the holder, when recorded. */
  readonly hostname?: string;
  /** When the holder took the lock (ISO 8601 or epoch milliseconds, as recorded). */
  readonly startedAt?: string | number;
}

/** One validation problem behind an `INVALID_BACKLOG` error. */
export interface SessionIssue {
  /** Machine-readable issue code from the backlog validator. */
  readonly code: string;
  /** Where in the backlog the problem is (JSON path segments). */
  readonly path: readonly (string | number)[];
  /** Human-readable description. */
  readonly message: string;
  /** The item the issue concerns, when known. */
  readonly itemId?: string;
}

/** Details accepted by the {@link SessionError} constructor. */
export interface SessionErrorDetails {
  /** The file or folder involved. */
  path?: string;
  /** The session id (folder name) or backlog item id involved. */
  id?: string;
  /** The lock holder, for `LOCKED`. */
  holder?: SessionLockHolder;
  /** Validation issues, for `INVALID_BACKLOG`. */
  issues?: readonly SessionIssue[];
  /** The byte offset of the damage, for `CORRUPT`. */
  offset?: number;
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error class of `@savepoint/session`. Branch on {@link SessionError.code}, never on the
 * message.
 *
 * @example
 * ```ts
 * try {
 *   await manager.initialize({ backlog });
 * } catch (error) {
 *   if (error instanceof SessionError && error.code === 'LOCKED') {
 *     console.error(`already running as pid ${error.holder?.pid}`);
 *   }
 * }
 * ```
 */
export class SessionError extends Error {
  /** Why the operation failed. */
  readonly code: SessionErrorCode;
  /** The file or folder involved, when there is one. */
  readonly path: string | undefined;
  /** The session id or item id involved, when there is one. */
  readonly id: string | undefined;
  /** The process holding the lock (`LOCKED` only). */
  readonly holder: SessionLockHolder | undefined;
  /** Validation issues (`INVALID_BACKLOG` only); empty otherwise. */
  readonly issues: readonly SessionIssue[];
  /** The byte offset of the first damaged record (`CORRUPT` only). */
  readonly offset: number | undefined;

  /**
   * @param code - why the operation failed
   * @param message - human-readable description
   * @param details - path, id, holder, issues and cause
   */
  constructor(code: SessionErrorCode, message: string, details: SessionErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SessionError';
    this.code = code;
    this.path = details.path;
    this.id = details.id;
    this.holder = details.holder;
    this.issues = details.issues ?? [];
    this.offset = details.offset;
  }
}
