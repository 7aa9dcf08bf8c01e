import type { Backlog } from '@savepoint/task-schema';
import { SessionError } from './errors.ts';
import { listSessionFolders, readSessionFolder } from './file-store.ts';
import { hashPrd } from './hash.ts';
import { toMetadata } from './internal/backlog.ts';
import { materialize } from './internal/load.ts';
import type { LoadedSession, SessionListing, SessionStore, SessionSummary } from './store.ts';

/** Identity and origin of a session. */
export interface SessionMetadata {
  /** The folder name: `001_14b9dc2a33c7`. */
  readonly id: string;
  /** The sequence number from the id. */
  readonly sequence: number;
  /** The PRD hash from the id (taken as is, even if the snapshot hashes differently). */
  readonly hash: string;
  /** The session folder (or the store's location of the session). */
  readonly path: string;
  /** When the session was created. */
  readonly createdAt: Date;
  /** The parent session's id for a delta session, else `null`. */
  readonly parentSession: string | null;
}

/** A session read without taking its lock, as returned by {@link readSession}. */
export interface SessionSnapshot {
  /** Identity and origin. */
  readonly metadata: SessionMetadata;
  /** The PRD as it was when the session began. */
  readonly prdSnapshot: string;
  /** The validated backlog: `tasks.json` with the journal's changes applied. */
  readonly backlog: Backlog;
  /** `currentItemId` of that backlog, or `null`. */
  readonly currentItemId: string | null;
  /**
   * Items left in flight in the file: subtasks that are Researching, Implementing or Retrying,
   * and containers with an in-flight status their children do not explain.
   */
  readonly inFlight: readonly string[];
}

/**
 * Lists the sessions of a plan directory (folders named `<NNN>_<hash12>` holding both
 * `tasks.json` and `prd_snapshot.md`), ascending by sequence. Temp folders, lock files and
 * anything not named like a session are left out; a missing plan directory lists nothing.
 *
 * @throws SessionError `INCOMPLETE_SESSION` when a folder named like a session lacks a required
 *   file (the error names the folder and the file), `IO` when the directory cannot be read
 */
export async function listSessions(planDir: string): Promise<SessionSummary[]> {
  if (typeof planDir !== 'string' || planDir === '') {
    throw new TypeError(`listSessions expected a plan directory path, got ${String(planDir)}`);
  }
  return completeSessions(await listSessionFolders(planDir));
}

/**
 * The complete sessions of a listing; an incomplete one is an error, never skipped.
 *
 * @internal
 */
export function completeSessions(listing: SessionListing): SessionSummary[] {
  const [first] = listing.incomplete;
  if (first) {
    throw new SessionError(
      'INCOMPLETE_SESSION',
      `session folder ${first.path} is incomplete: ${first.missing} is missing`,
      { path: first.path, id: first.id },
    );
  }
  return [...listing.sessions];
}

/**
 * The session with the highest sequence number in `planDir`, or `null` when there is none.
 *
 * @throws SessionError `IO`
 */
export async function findLatestSession(planDir: string): Promise<SessionSummary | null> {
  return (await listSessions(planDir)).at(-1) ?? null;
}

/**
 * The latest session of `planDir` whose folder hash matches a PRD.
 *
 * @param prd - the PRD's text or bytes (hashed with {@link hashPrd}), or its hash: a string of
 *   exactly 12 hex digits (or a full 64-digit SHA-256) is taken as a hash, anything else as text
 * @returns the session, or `null`
 * @throws SessionError `IO`
 */
export async function findSessionByPRD(
  planDir: string,
  prd: string | Uint8Array,
): Promise<SessionSummary | null> {
  return findByPrd(await listSessions(planDir), prd);
}

/**
 * Reads a session folder without locking it: metadata, PRD snapshot and validated backlog
 * (`tasks.json` with the changes of `tasks.journal` applied, so it is current even while another
 * process runs the session). The folder's hash is not checked against the snapshot.
 *
 * @param path - the session folder; with `options.store`, a session reference of that store (its
 *   id or listed `path`)
 * @param options - `store`: read from this store instead of a session folder (`store.read`)
 * @throws SessionError `NOT_FOUND` (no such folder, or not a session folder name),
 *   `INCOMPLETE_SESSION` (`tasks.json` or `prd_snapshot.md` missing), `CORRUPT` (the journal is
 *   damaged before its tail), `INVALID_BACKLOG`, `IO`
 */
export async function readSession(
  path: string,
  options: { readonly store?: SessionStore } = {},
): Promise<SessionSnapshot> {
  if (options.store !== undefined) return snapshotOf(await options.store.read(path));
  return snapshotOf(await readSessionFolder(path));
}

/** @internal */
export function findByPrd(
  sessions: readonly SessionSummary[],
  prd: string | Uint8Array,
): SessionSummary | null {
  if (typeof prd !== 'string' && !(prd instanceof Uint8Array)) {
    throw new TypeError(
      `findSessionByPRD expected PRD text, bytes or a hash, got ${prd === null ? 'null' : typeof prd}`,
    );
  }
  let hash: string;
  if (typeof prd === 'string' && /^(?:[0-9a-fA-F]{12}|[0-9a-fA-F]{64})$/.test(prd)) {
    hash = prd.slice(0, 12).toLowerCase();
  } else {
    hash = hashPrd(prd);
  }
  return sessions.filter((session) => session.hash === hash).at(-1) ?? null;
}

/** @internal */
export function snapshotOf(stored: LoadedSession): SessionSnapshot {
  const { backlog, inFlight } = materialize(stored);
  return {
    metadata: toMetadata(stored.summary, stored.parentSession),
    prdSnapshot: stored.prdSnapshot,
    backlog,
    currentItemId: backlog.currentItemId ?? null,
    inFlight,
  };
}
