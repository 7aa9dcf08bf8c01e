import { resolve } from 'node:path';
import { type Backlog, STATUSES, type Status } from '@savepoint/task-schema';
import { SessionError } from './errors.ts';
import { createFileStore } from './file-store.ts';
import { takeBacklog } from './internal/backlog.ts';
import type { LiveSession, ReadonlyBacklogIndex } from './internal/live-session.ts';
import {
  type BacklogSource,
  type OpenedSession,
  openExisting,
  openForPrd,
  readPrd,
} from './internal/opening.ts';
import { type FlushPolicy, type SessionStats, SessionWriter } from './internal/writer.ts';
import { isArtifactName, SESSION_FILES } from './layout.ts';
import {
  completeSessions,
  findByPrd,
  type SessionMetadata,
  type SessionSnapshot,
  snapshotOf,
} from './sessions.ts';
import type { SessionStore, SessionSummary } from './store.ts';

export type { ReadonlyBacklogIndex } from './internal/live-session.ts';
export type { BacklogSource, NewSessionContext } from './internal/opening.ts';
export type { FlushPolicy, SessionStats } from './internal/writer.ts';

/**
 * Where the PRD comes from: a file, or text already in memory. `initialize()` needs one of them;
 * a manager that only opens sessions by path with `loadSession()` may leave both out.
 */
export type PrdSource =
  | {
      /** Path of the PRD file; read as bytes by `initialize()`, so the hash is of the exact bytes. */
      prdPath: string;
      prdText?: never;
    }
  | {
      /** The PRD text; hashed as UTF-8. */
      prdText: string;
      prdPath?: never;
    }
  | { prdPath?: undefined; prdText?: undefined };

/** Where log lines go. Every method is optional; the manager never prints on its own. */
export interface SessionLogger {
  /** Per-flush details. */
  debug?(message: string, fields?: Record<string, unknown>): void;
  /** Sessions created and resumed. */
  info?(message: string, fields?: Record<string, unknown>): void;
  /** In-flight items found on load, a session created meanwhile by another process. */
  warn?(message: string, fields?: Record<string, unknown>): void;
  /** Failures of automatic flushes, which have no caller to throw to. */
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** Options of the {@link SessionManager} constructor besides the PRD source. */
export interface SessionManagerBaseOptions {
  /**
   * The plan directory holding the session folders. Required unless `store` is given; when a
   * `store` is given it decides where sessions live and `planDir` is not used.
   */
  planDir?: string;
  /**
   * Where sessions are kept.
   *
   * @default createFileStore(planDir)
   */
  store?: SessionStore;
  /**
   * Automatic flushing.
   *
   * @default {} (flush only on `flushUpdates()`, `saveBacklog()`, `close()`)
   */
  flushPolicy?: FlushPolicy;
  /** Receives log lines. */
  logger?: SessionLogger;
}

/** Options of the {@link SessionManager} constructor. */
export type SessionManagerOptions = PrdSource & SessionManagerBaseOptions;

/** The state of the open session, as returned by `initialize()` and `currentSession`. */
export interface SessionState {
  /** Identity and origin of the session. */
  readonly metadata: SessionMetadata;
  /** The PRD as it was when the session began. */
  readonly prdSnapshot: string;
  /**
   * The backlog as it is in memory now, including updates not yet flushed. It is an immutable
   * snapshot: change it through the manager, never in place.
   */
  readonly taskRegistry: Backlog;
  /** The item the runner is on, persisted as `currentItemId`. */
  readonly currentItemId: string | null;
  /** Whether this call created the session (first or delta) rather than resuming one. */
  readonly isNew: boolean;
  /** Whether the session has a parent (its PRD changed from the parent's). */
  readonly isDelta: boolean;
  /**
   * Items found in flight when the session was opened, which means an earlier run stopped while
   * working on them: subtasks that are Researching, Implementing or Retrying, and containers in
   * such a status that their children do not explain (a container that is Implementing because
   * some children are done and others not is normal, and not listed). Cleared by
   * `recoverInFlight()`.
   */
  readonly inFlight: readonly string[];
}

/** Options of {@link SessionManager.initialize}. */
export interface InitializeOptions {
  /**
   * The backlog of the session when one has to be created. A function is called only then, with
   * the parent session (if any), so a costly planning step is skipped on resume. Without it, a
   * created session starts with an empty backlog (`{"backlog": []}`), to be given one later with
   * `saveBacklog()`.
   */
  backlog?: BacklogSource;
  /** Aborts waiting for another process creating a session in the same plan directory. */
  signal?: AbortSignal;
}

/** Options of {@link SessionManager.updateItemStatus}. */
export interface UpdateStatusOptions {
  /**
   * Recompute the statuses of the item's ancestors from their children.
   *
   * @default true
   */
  rollUp?: boolean;
}

/** The open session: in memory, and its writer. */
interface Open {
  readonly live: LiveSession;
  readonly writer: SessionWriter;
}

/**
 * Owns one session at a time: finds, creates or resumes it (`initialize`, `loadSession`), keeps
 * its backlog in memory, applies status changes in O(depth), and writes them durably: each
 * `flushUpdates()` appends one batch of every change since the last flush to the session's
 * journal, and `saveBacklog()`, `close()` and a long journal write a new snapshot. One process at
 * a time may hold a session.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ prdPath: 'PRD.md', planDir: 'plan' });
 * const session = await manager.initialize({ backlog: ({ parent }) => planFromPrd(parent) });
 * manager.recoverInFlight();
 * manager.setCurrentItem('P1.M1.T1.S1');
 * manager.updateItemStatus('P1.M1.T1.S1', 'Implementing');
 * await manager.flushUpdates();
 * manager.updateItemStatus('P1.M1.T1.S1', 'Complete');
 * await manager.close(); // flushes, compacts and releases the lock
 * ```
 */
export class SessionManager {
  readonly #prd: { readonly path: string } | { readonly text: string } | undefined;
  readonly #store: SessionStore;
  readonly #policy: FlushPolicy;
  readonly #logger: SessionLogger;

  #open: Open | undefined;
  #opening: Promise<SessionState> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param options - the PRD (`prdPath` or `prdText`; only `initialize()` needs it), `planDir`
   *   (or a `store`), and optionally `flushPolicy` and `logger`
   * @throws TypeError when the options are malformed
   */
  constructor(options: SessionManagerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`SessionManager expected an options object, got ${show(options)}`);
    }
    const { prdPath, prdText } = options as { prdPath?: unknown; prdText?: unknown };
    if (prdPath !== undefined && prdText !== undefined) {
      throw new TypeError('SessionManager expected at most one of prdPath or prdText, got both');
    }
    if (prdPath === undefined && prdText === undefined) {
      this.#prd = undefined;
    } else if (prdPath !== undefined) {
      if (typeof prdPath !== 'string' || prdPath === '') {
        throw new TypeError(`SessionManager expected prdPath to be a path, got ${show(prdPath)}`);
      }
      this.#prd = { path: resolve(prdPath) };
    } else {
      if (typeof prdText !== 'string') {
        throw new TypeError(`SessionManager expected prdText to be a string, got ${show(prdText)}`);
      }
      this.#prd = { text: prdText };
    }

    if (options.store !== undefined) {
      if (!isStore(options.store)) {
        throw new TypeError(
          `SessionManager expected store to be a SessionStore (list, create, open, read), got ${show(options.store)}`,
        );
      }
      this.#store = options.store;
    } else {
      if (typeof options.planDir !== 'string' || options.planDir === '') {
        throw new TypeError(
          `SessionManager expected planDir to be a path, got ${show(options.planDir)}`,
        );
      }
      this.#store = createFileStore(options.planDir);
    }

    this.#policy = checkPolicy(options.flushPolicy);
    const logger = options.logger ?? {};
    if (typeof logger !== 'object' || logger === null) {
      throw new TypeError(`SessionManager expected logger to be an object, got ${show(logger)}`);
    }
    this.#logger = logger;
  }

  /** The store this manager reads and writes. */
  get store(): SessionStore {
    return this.#store;
  }

  /**
   * The open session, built fresh on every read so `taskRegistry` is always the latest in-memory
   * backlog; `null` before `initialize()`/`loadSession()` and after `close()`.
   */
  get currentSession(): SessionState | null {
    const live = this.#open?.live;
    if (!live) return null;
    const taskRegistry = live.backlog;
    return {
      metadata: live.metadata,
      prdSnapshot: live.prdSnapshot,
      taskRegistry,
      currentItemId: taskRegistry.currentItemId ?? null,
      isNew: live.isNew,
      isDelta: live.metadata.parentSession !== null,
      inFlight: live.inFlight,
    };
  }

  /**
   * A read-only view of the index over the in-memory backlog (`get`, `nextReady`, `isReady`,
   * `countByStatus`, ...), for scheduling. Change statuses through the manager so they are
   * tracked and flushed.
   *
   * @throws SessionError `NO_SESSION` when no session is open
   */
  get index(): ReadonlyBacklogIndex {
    return this.#require('index').live.view;
  }

  /** Whether there are changes not yet handed to a flush. */
  get isDirty(): boolean {
    return this.#open?.writer.isDirty ?? false;
  }

  /**
   * Opens the session for this PRD: resumes the latest session whose folder hash equals the
   * hash of the PRD's bytes; otherwise creates a delta session whose parent is the latest
   * session; otherwise creates the first session. A created session gets `options.backlog`, or
   * an empty backlog when none is given. Takes the session's lock; calling it again while a
   * session is open returns that session.
   *
   * When another process creates a session with the same hash between this process's look-up and
   * its own creation, that session is opened instead (usually a `LOCKED` error, since its creator
   * holds it) and the backlog produced here is discarded.
   *
   * @throws SessionError `LOCKED` (another live process holds the session), `INVALID_BACKLOG`
   *   (the stored or given backlog is invalid or cannot be written), `INCOMPLETE_SESSION`,
   *   `CORRUPT`, `NOT_FOUND` (the PRD file), `IO`
   * @throws TypeError when the manager has no PRD or the options are malformed
   */
  async initialize(options: InitializeOptions = {}): Promise<SessionState> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`initialize expected an options object, got ${show(options)}`);
    }
    const prd = this.#prd;
    if (prd === undefined) {
      throw new TypeError(
        'initialize expected the manager to have a PRD: pass prdPath or prdText to the constructor',
      );
    }
    const source = options.backlog;
    if (source !== undefined && typeof source !== 'function' && typeof source !== 'object') {
      throw new TypeError(
        `initialize expected backlog to be a backlog object or a function, got ${show(source)}`,
      );
    }
    checkSignal(options.signal, 'initialize');
    const current = this.currentSession;
    if (current) return current;
    return this.#startOpening(async () =>
      openForPrd(this.#store, await readPrd(prd), source, options.signal, this.#logger),
    );
  }

  /**
   * Opens an existing session by its location (the folder path for the file store, or its id),
   * taking its lock. The folder's hash need not match its PRD snapshot.
   *
   * @throws TypeError when a session is already open (close it first)
   * @throws SessionError `LOCKED`, `NOT_FOUND`, `INCOMPLETE_SESSION`, `CORRUPT`,
   *   `INVALID_BACKLOG`, `IO`
   */
  async loadSession(path: string, options: { signal?: AbortSignal } = {}): Promise<SessionState> {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`loadSession expected a session path, got ${show(path)}`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`loadSession expected an options object, got ${show(options)}`);
    }
    checkSignal(options.signal, 'loadSession');
    if (this.#open || this.#opening) {
      throw new TypeError('loadSession expected no open session; call close() first');
    }
    return this.#startOpening(() => openExisting(this.#store, path, options.signal, this.#logger));
  }

  /**
   * Lists the store's sessions, ascending by sequence.
   *
   * @throws SessionError `INCOMPLETE_SESSION` naming a session that lacks a required part, `IO`
   */
  async listSessions(): Promise<SessionSummary[]> {
    return completeSessions(await this.#store.list());
  }

  /** The store's session with the highest sequence number, or `null`. */
  async findLatestSession(): Promise<SessionSummary | null> {
    return (await this.listSessions()).at(-1) ?? null;
  }

  /**
   * The latest session of the store for a PRD, given as its text, bytes, or 12-hex hash.
   * See the standalone {@link findSessionByPRD} for how a string is told apart from a hash.
   */
  async findSessionByPRD(prd: string | Uint8Array): Promise<SessionSummary | null> {
    return findByPrd(await this.listSessions(), prd);
  }

  /**
   * Reads the open session's parent (its backlog included) without locking it, or `null` when the
   * session is not a delta session.
   *
   * @throws SessionError `NO_SESSION`, `NOT_FOUND` (the parent is gone), `INVALID_BACKLOG`
   */
  async readParentSession(): Promise<SessionSnapshot | null> {
    const { live } = this.#require('readParentSession');
    const parentId = live.metadata.parentSession;
    if (parentId === null) return null;
    const parent = (await this.#store.list()).sessions.find((summary) => summary.id === parentId);
    if (!parent) {
      throw new SessionError('NOT_FOUND', `parent session ${parentId} does not exist`, {
        id: parentId,
      });
    }
    return snapshotOf(await this.#store.read(parent.path));
  }

  /**
   * Makes `backlog` the in-memory registry (replacing any pending updates, which it subsumes) and
   * writes it as the session's new snapshot (a compaction: the journal starts over). Resolves
   * once it is durable. `currentItemId` is taken from `backlog` as given.
   *
   * The registry itself (`currentSession.taskRegistry`, as in the origin's shutdown sequence) is
   * written as it is; any other value is validated once, and copied so later changes to the
   * caller's object cannot bypass the tracking.
   *
   * @throws SessionError `NO_SESSION`; `INVALID_BACKLOG` when the value is not a valid backlog or
   *   cannot be written as JSON (a BigInt, a function, a cycle): nothing changes in memory or on
   *   disk; `IO` (the new backlog stays in memory, dirty, for the next flush)
   */
  async saveBacklog(backlog: Backlog): Promise<void> {
    const { live, writer } = this.#require('saveBacklog');
    if (backlog === live.backlog) {
      writer.replaced(undefined);
    } else {
      const taken = takeBacklog(backlog, `${live.metadata.id}/${SESSION_FILES.tasks}`);
      live.replace(taken.backlog);
      writer.replaced(taken.text);
    }
    await writer.flush();
  }

  /**
   * Sets an item's status in memory (O(depth)), rolling the change up to its ancestors unless
   * `rollUp` is false. Any status may follow any other. The change (and each ancestor status it
   * changed) is written by the next flush.
   *
   * @returns the new in-memory backlog snapshot
   * @throws SessionError `UNKNOWN_ITEM`, `NO_SESSION`
   * @throws TypeError when `id` is not a string, `status` is not a status or `options` is malformed
   */
  updateItemStatus(id: string, status: Status, options: UpdateStatusOptions = {}): Backlog {
    const { live, writer } = this.#require('updateItemStatus');
    if (typeof id !== 'string') {
      throw new TypeError(`updateItemStatus expected an item id string, got ${show(id)}`);
    }
    if (!STATUS_SET.has(status)) {
      throw new TypeError(
        `updateItemStatus expected a status (${STATUSES.join(', ')}), got ${show(status)}`,
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`updateItemStatus expected an options object, got ${show(options)}`);
    }
    const rollUp = options.rollUp ?? true;
    if (typeof rollUp !== 'boolean') {
      throw new TypeError(`updateItemStatus expected rollUp to be a boolean, got ${show(rollUp)}`);
    }
    if (!live.index.has(id)) throw unknownItem(id, live);
    if (live.setStatus(id, status, rollUp)) writer.changed();
    return live.backlog;
  }

  /**
   * Records the item the runner is on; persisted as `currentItemId` by the next flush.
   *
   * @param id - an item id of the backlog, or `null` for none
   * @throws SessionError `UNKNOWN_ITEM`, `NO_SESSION`
   */
  setCurrentItem(id: string | null): void {
    const { live, writer } = this.#require('setCurrentItem');
    if (id !== null && typeof id !== 'string') {
      throw new TypeError(`setCurrentItem expected an item id string or null, got ${show(id)}`);
    }
    if (id !== null && !live.index.has(id)) throw unknownItem(id, live);
    if (live.setCurrent(id)) writer.changed();
  }

  /**
   * The item the runner is on, or `null`.
   *
   * @throws SessionError `NO_SESSION`
   */
  getCurrentItem(): string | null {
    return this.#require('getCurrentItem').live.backlog.currentItemId ?? null;
  }

  /**
   * Puts items left in flight by a crash back at rest: every subtask that is Researching,
   * Implementing or Retrying goes to Planned, and the change rolls up to its ancestors (a task
   * whose only started subtask was in flight goes back to Planned, one with finished subtasks
   * stays Implementing). A container whose in-flight status its children do not explain then
   * takes the status its children roll up to (Planned when it has none). Containers that are
   * Implementing as the normal roll-up of partly done children are left alone.
   *
   * Call it right after opening a session, before starting work: it does not know which items
   * this process is working on.
   *
   * @returns the ids of the items reset (subtasks and containers), in document order
   * @throws SessionError `NO_SESSION`
   */
  recoverInFlight(): string[] {
    const { live, writer } = this.#require('recoverInFlight');
    const ids = live.recoverInFlight();
    if (ids.length > 0) {
      writer.changed();
      this.#logger.info?.('returned in-flight items to rest', { session: live.metadata.id, ids });
    }
    return ids;
  }

  /**
   * Writes every change made since the last flush as ONE record appended to the session's
   * journal, durably (after `saveBacklog()`, a new snapshot instead). Costs O(changes), not
   * O(backlog). Changes made while the append runs go to the next flush; concurrent calls are
   * queued in call order. Resolves once the state as of the call (or newer) is durable. Without
   * an open session, or with nothing changed, it does nothing.
   *
   * @throws SessionError `IO` when the write fails (the changes then stay pending), `LOCK_LOST`
   */
  flushUpdates(): Promise<void> {
    const open = this.#open;
    if (!open) return Promise.resolve();
    return open.writer.flush();
  }

  /**
   * Writes the latest state synchronously, for the last moments of a process (a second signal, a
   * fatal error): the pending changes as one journal record, after any append still running; or
   * a whole snapshot after `saveBacklog()` or while a compaction runs, since that one may never
   * finish.
   *
   * @returns whether anything was written
   * @throws SessionError `IO`, `LOCK_LOST`
   */
  flushSync(): boolean {
    const open = this.#open;
    if (!open) return false;
    return open.writer.flushSync();
  }

  /**
   * Writes an artifact such as `ERROR_REPORT.md` or `TEST_RESULTS.md` into the session, atomically.
   *
   * @param name - a plain file name (no path), not one of the session's own files
   * @returns where it was written
   * @throws TypeError for an unsafe or reserved name, or text that is not a string
   * @throws SessionError `NO_SESSION`, `IO`
   */
  async writeArtifact(name: string, text: string): Promise<string> {
    const { writer } = this.#require('writeArtifact');
    checkArtifactName(name, 'writeArtifact');
    if (typeof text !== 'string') {
      throw new TypeError(`writeArtifact expected text to be a string, got ${show(text)}`);
    }
    return writer.handle.writeArtifact(name, text);
  }

  /**
   * Removes an artifact (for example an `ERROR_REPORT.md` that no longer applies); nothing
   * happens when it does not exist.
   *
   * @throws TypeError for an unsafe or reserved name
   * @throws SessionError `NO_SESSION`, `IO`
   */
  async removeArtifact(name: string): Promise<void> {
    const { writer } = this.#require('removeArtifact');
    checkArtifactName(name, 'removeArtifact');
    await writer.handle.removeArtifact(name);
  }

  /** Counters for logs: pending updates, flushes, compactions, updates per flush, timings. */
  getStats(): SessionStats {
    return this.#open?.writer.stats() ?? EMPTY_STATS;
  }

  /**
   * Flushes pending updates, compacts the journal into a new snapshot (so a closed session's
   * `tasks.json` is current) and releases the lock. If a write fails the session stays open and
   * the error propagates, so nothing in memory is lost: retry, or use `flushSync()`. The
   * exception is `LOCK_LOST`: another process owns the session now, so it is closed without
   * writing and the error tells the caller what was not saved. Does nothing when no session is
   * open.
   *
   * @throws SessionError `IO`, `LOCK_LOST`
   */
  async close(): Promise<void> {
    this.#closing ??= this.#close().finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  /**
   * Writes the latest state synchronously and releases the lock synchronously: for a process that
   * must exit now. Does nothing when no session is open.
   */
  closeSync(): void {
    const open = this.#open;
    if (!open) return;
    open.writer.flushSync();
    this.#detach();
    open.writer.handle.releaseSync();
  }

  async #close(): Promise<void> {
    if (this.#opening) await this.#opening.catch(() => undefined);
    const open = this.#open;
    if (!open) return;
    try {
      await open.writer.close();
    } catch (error) {
      // With the lock gone the session cannot be written any more: let it go, and tell the
      // caller. Any other failure keeps it open so nothing in memory is lost.
      if (error instanceof SessionError && error.code === 'LOCK_LOST') {
        this.#detach();
        // Releasing a lost lock leaves the new holder's file alone; it only stops our refresh.
        await open.writer.handle.release().catch(() => undefined);
      }
      throw error;
    }
    this.#detach();
    await open.writer.handle.release();
    this.#logger.debug?.('session closed', { session: open.live.metadata.id });
  }

  #detach(): void {
    this.#open?.writer.detach();
    this.#open = undefined;
  }

  #startOpening(open: () => Promise<OpenedSession>): Promise<SessionState> {
    if (this.#opening) return this.#opening;
    const opening = open()
      .then((opened) => {
        const writer = new SessionWriter({
          handle: opened.handle,
          live: opened.live,
          sequence: opened.sequence,
          snapshotBytes: opened.snapshotBytes,
          journalBytes: opened.journalBytes,
          policy: this.#policy,
          logger: this.#logger,
        });
        this.#open = { live: opened.live, writer };
        return this.currentSession!;
      })
      .finally(() => {
        this.#opening = undefined;
      });
    this.#opening = opening;
    return opening;
  }

  #require(operation: string): Open {
    const open = this.#open;
    if (!open) {
      throw new SessionError(
        'NO_SESSION',
        `${operation} needs an open session: call initialize() or loadSession() first`,
      );
    }
    return open;
  }
}

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

const EMPTY_STATS: SessionStats = Object.freeze({
  pending: 0,
  isDirty: false,
  isFlushing: false,
  flushes: 0,
  syncFlushes: 0,
  failedFlushes: 0,
  compactions: 0,
  updatesFlushed: 0,
  updatesPerFlush: 0,
  lastFlushUpdates: 0,
  lastFlushMs: null,
  lastFlushAt: null,
  totalFlushMs: 0,
  lastError: null,
});

function unknownItem(id: string, live: LiveSession): SessionError {
  return new SessionError(
    'UNKNOWN_ITEM',
    `no item with id ${JSON.stringify(id)} in session ${live.metadata.id}`,
    { id, path: live.metadata.path },
  );
}

function checkArtifactName(name: string, operation: string): void {
  if (!isArtifactName(name)) {
    throw new TypeError(
      `${operation} expected a plain file name such as ${SESSION_FILES.errorReport} (not tasks.json, tasks.journal, prd_snapshot.md or parent_session.txt), got ${show(name)}`,
    );
  }
}

function checkSignal(signal: unknown, operation: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`${operation} expected signal to be an AbortSignal, got ${show(signal)}`);
  }
}

function isStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['list', 'create', 'open', 'read'].every((name) => typeof store[name] === 'function');
}

function checkPolicy(policy: unknown): FlushPolicy {
  if (policy === undefined) return {};
  if (typeof policy !== 'object' || policy === null) {
    throw new TypeError(`SessionManager expected flushPolicy to be an object, got ${show(policy)}`);
  }
  const { maxPending, maxDelayMs } = policy as FlushPolicy;
  if (
    maxPending !== undefined &&
    (typeof maxPending !== 'number' || !Number.isSafeInteger(maxPending) || maxPending < 1)
  ) {
    throw new TypeError(
      `SessionManager expected flushPolicy.maxPending to be a positive integer, got ${show(maxPending)}`,
    );
  }
  if (
    maxDelayMs !== undefined &&
    (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < 0)
  ) {
    throw new TypeError(
      `SessionManager expected flushPolicy.maxDelayMs to be a non-negative number, got ${show(maxDelayMs)}`,
    );
  }
  return {
    ...(maxPending !== undefined ? { maxPending } : {}),
    ...(maxDelayMs !== undefined ? { maxDelayMs } : {}),
  };
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : String(value);
}
