import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  parseSessionName,
  readSession,
  SESSION_FILES,
  SessionError,
  type SessionSummary,
} from '@savepoint/session';
import { serializeBacklog } from '@savepoint/task-schema';
import type { PostgresStore } from './postgres-store.ts';

/** The artifact that remembers how a session is run (`@savepoint/runner`'s `run.json`). */
const RUN_CONFIG = 'run.json';

/** What {@link importSessionFolder} did. */
export type ImportResult =
  | {
      /** The session was created in the store. */
      readonly status: 'created';
      /** The new session (its sequence number is the store's next one; the hash is kept). */
      readonly session: SessionSummary;
      /** The `tasks.json` text stored: the folder's backlog with its journal applied. */
      readonly tasksText: string;
    }
  | {
      /** The store has a session with the folder's PRD hash already; nothing was written. */
      readonly status: 'exists';
      /** That session. */
      readonly session: SessionSummary;
    };

/**
 * Loads a session folder of the file store into a PostgreSQL store as a new session: its
 * `tasks.json` with the changes of `tasks.journal` applied (canonical text, so
 * `store.exportTasks` gives it back byte for byte), its `prd_snapshot.md` byte for byte, and its
 * `run.json` when it has one. The new session keeps the folder's PRD hash and gets the store's
 * next sequence number; it has no parent (a delta session's parent stays in the folder).
 * Subtasks the folder left in flight are ready again at once (they have no lease).
 *
 * @param folder - a session folder (`<plan-dir>/001_<hash12>`)
 * @throws SessionError `NOT_FOUND` (not a session folder), `INCOMPLETE_SESSION`, `CORRUPT`,
 *   `INVALID_BACKLOG`, `IO`
 */
export async function importSessionFolder(
  store: PostgresStore,
  folder: string,
): Promise<ImportResult> {
  const path = resolve(folder);
  const name = parseSessionName(basename(path));
  if (!name) {
    throw new SessionError(
      'NOT_FOUND',
      `${path} is not a session folder (its name must look like 001_<12 hex digits>)`,
      { path },
    );
  }
  const snapshot = await readSession(path);
  const prd = await readPart(join(path, SESSION_FILES.prdSnapshot));
  const runConfig = await readPart(join(path, RUN_CONFIG), true);
  const tasksText = serializeBacklog(snapshot.backlog);
  const created = await store.create({
    hash: name.hash,
    prdSnapshot: prd!,
    tasksText,
    parentSession: null,
  });
  if (created.status === 'exists') return { status: 'exists', session: created.session };
  try {
    if (runConfig !== undefined) {
      await created.handle.writeArtifact(RUN_CONFIG, runConfig.toString('utf8'));
    }
  } finally {
    await created.handle.release();
  }
  return { status: 'created', session: created.session, tasksText };
}

async function readPart(file: string, optional = false): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (cause) {
    if (optional && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SessionError('IO', `cannot read ${file}`, { path: file, cause });
  }
}

/**
 * A connection string as it may be shown: the password left out (`postgres://user@host/db`).
 * Text that is not a URL is shown as `(a malformed connection string)`, since it may hold a
 * password in a form this cannot find.
 */
export function redactConnectionString(url: string): string {
  // Without `scheme://`, `user:password@host` would parse as a scheme and a path.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return '(a malformed connection string)';
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(a malformed connection string)';
  }
}
