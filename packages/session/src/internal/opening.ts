import { readFile } from 'node:fs/promises';
import type { Backlog } from '@savepoint/task-schema';
import { SessionError } from '../errors.ts';
import { hashPrd } from '../hash.ts';
import { completeSessions, type SessionSnapshot, snapshotOf } from '../sessions.ts';
import type { SessionHandle, SessionStore } from '../store.ts';
import { takeBacklog, toMetadata } from './backlog.ts';
import { LiveSession } from './live-session.ts';
import { materialize } from './load.ts';

/** The PRD as read for `initialize()`: its exact bytes, their hash, and the text. */
export interface PrdContent {
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly hash: string;
}

/** What a backlog factory is told when `initialize()` needs a new session. */
export interface NewSessionContext {
  /** The PRD hash the new session will be named after. */
  readonly hash: string;
  /** The PRD text. */
  readonly prdText: string;
  /**
   * The latest existing session, which becomes the new session's parent (a delta session), or
   * `null` for the first session. Its backlog is there to carry statuses over.
   */
  readonly parent: SessionSnapshot | null;
}

/** A backlog for a new session, or a function producing one when (and only when) it is needed. */
export type BacklogSource = Backlog | ((context: NewSessionContext) => Backlog | Promise<Backlog>);

/** An opened session: in memory, and the handle with what the writer needs to continue it. */
export interface OpenedSession {
  readonly live: LiveSession;
  readonly handle: SessionHandle;
  /** The number of the last batch the loaded state contains. */
  readonly sequence: number;
  /** About how large the snapshot and the journal are, for automatic compaction. */
  readonly snapshotBytes: number;
  readonly journalBytes: number;
}

/** Where opening logs. */
export interface OpeningLogger {
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Reads the PRD. A file is read as bytes and hashed as bytes, whatever its encoding (a Latin-1
 * PRD gets the same hash on every run); text is hashed as its UTF-8 encoding.
 */
export async function readPrd(prd: { path: string } | { text: string }): Promise<PrdContent> {
  if ('text' in prd) {
    const bytes = new TextEncoder().encode(prd.text);
    return { bytes, text: prd.text, hash: hashPrd(bytes) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(prd.path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new SessionError('NOT_FOUND', `PRD file ${prd.path} does not exist`, {
        path: prd.path,
        cause: error,
      });
    }
    throw new SessionError('IO', `cannot read PRD file ${prd.path}: ${(error as Error).message}`, {
      path: prd.path,
      cause: error,
    });
  }
  return { bytes, text: new TextDecoder().decode(bytes), hash: hashPrd(bytes) };
}

/**
 * Opens the session for a PRD: resumes the latest session with its hash; otherwise creates a
 * delta session (parent: the latest session) or the first session, with the given backlog (an
 * empty one when none is given).
 */
export async function openForPrd(
  store: SessionStore,
  prd: PrdContent,
  source: BacklogSource | undefined,
  signal: AbortSignal | undefined,
  logger: OpeningLogger,
): Promise<OpenedSession> {
  const sessions = completeSessions(await store.list());
  const match = sessions.filter((summary) => summary.hash === prd.hash).at(-1);
  if (match) return openExisting(store, match.path, signal, logger);

  const latest = sessions.at(-1) ?? null;
  let input: unknown = source;
  if (typeof input === 'function') {
    const parent = latest ? snapshotOf(await store.read(latest.path)) : null;
    input = await (input as (context: NewSessionContext) => unknown)({
      hash: prd.hash,
      prdText: prd.text,
      parent,
    });
  }
  // No backlog at all starts the session empty; anything given (or produced) must be a backlog.
  const { backlog, inFlight, text } = takeBacklog(
    source === undefined ? { backlog: [] } : input,
    'new session backlog',
  );
  const parentSession = latest?.id ?? null;
  const result = await store.create(
    { hash: prd.hash, prdSnapshot: prd.bytes, tasksText: text, parentSession },
    signal ? { signal } : {},
  );
  if (result.status === 'exists') {
    logger.warn?.('another process created a session for this PRD first; opening it', {
      session: result.session.id,
    });
    return openExisting(store, result.session.path, signal, logger);
  }
  const metadata = toMetadata(result.session, parentSession);
  const live = new LiveSession({
    metadata,
    prdSnapshot: prd.text,
    isNew: true,
    backlog,
    inFlight,
  });
  logger.info?.(parentSession ? 'created delta session' : 'created first session', {
    session: metadata.id,
    parent: parentSession,
    path: metadata.path,
  });
  return { live, handle: result.handle, sequence: 0, snapshotBytes: text.length, journalBytes: 0 };
}

/** Opens an existing session (taking its lock), loads it, and builds it in memory. */
export async function openExisting(
  store: SessionStore,
  ref: string,
  signal: AbortSignal | undefined,
  logger: OpeningLogger,
): Promise<OpenedSession> {
  const handle = await store.open(ref, signal ? { signal } : {});
  try {
    const loaded = await handle.load();
    const { backlog, inFlight, sequence } = materialize(loaded);
    const live = new LiveSession({
      metadata: toMetadata(loaded.summary, loaded.parentSession),
      prdSnapshot: loaded.prdSnapshot,
      isNew: false,
      backlog,
      inFlight,
    });
    logger.info?.('resumed session', {
      session: live.metadata.id,
      path: live.metadata.path,
      replayed: loaded.changes.length,
    });
    if (loaded.tail.discardedBytes > 0) {
      logger.warn?.('ignored the torn end of the journal (a flush interrupted by a crash)', {
        session: live.metadata.id,
        bytes: loaded.tail.discardedBytes,
      });
    }
    if (inFlight.length > 0) {
      logger.warn?.('items were in flight when the last run stopped', {
        session: live.metadata.id,
        ids: inFlight,
      });
    }
    return {
      live,
      handle,
      sequence,
      snapshotBytes: loaded.snapshotText.length,
      journalBytes: loaded.tail.validBytes,
    };
  } catch (error) {
    await handle.release().catch(() => undefined);
    throw error;
  }
}
