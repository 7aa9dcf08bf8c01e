import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  type Backlog,
  type BacklogIndex,
  createBacklogIndex,
  STATUSES,
  type Status,
  serializeBacklog,
} from '@savepoint/task-schema';
import { SessionError } from './errors.ts';
import { createFileStore } from './file-store.ts';
import { hashPrd } from './hash.ts';
import { resetInFlight, toMetadata, validateBacklog } from './internal/backlog.ts';
import { isArtifactName, SESSION_FILES } from './layout.ts';
import { findByPrd, type SessionMetadata, type SessionSnapshot, snapshotOf } from './sessions.ts';
import type { SessionLock, SessionStore, SessionSummary } from './store.ts';

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

/**
 * When pending updates are written without an explicit `flushUpdates()`. Both limits may be set;
 * whichever is reached first starts a flush. Leave both unset to flush only when asked.
 */
export interface FlushPolicy {
  /** Flush once this many updates are pending. A positive integer. */
  maxPending?: number;
  /**
   * Flush this many milliseconds after the first update that made the session dirty. The timer
   * never keeps the process alive.
   */
  maxDelayMs?: number;
}

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
  /** The item the runner is on, persisted as `currentItemId` in `tasks.json`. */
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

/** Options of {@link SessionManager.initialize}. */
export interface InitializeOptions {
  /**
   * The backlog of the session when one has to be created. A function is called only then, with
   * the parent session (if any), so a costly planning step is skipped on resume. Without it,
   * creating a session fails with `BACKLOG_REQUIRED`.
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

/** Counters for logs and dashboards, from {@link SessionManager.getStats}. */
export interface SessionStats {
  /** Updates applied in memory and not yet handed to a flush. */
  readonly pending: number;
  /** Whether there are changes not yet handed to a flush. */
  readonly isDirty: boolean;
  /** Whether a flush is running or queued. */
  readonly isFlushing: boolean;
  /** Successful asynchronous flushes that wrote something. */
  readonly flushes: number;
  /** Successful synchronous flushes (`flushSync`). */
  readonly syncFlushes: number;
  /** Flushes that failed (their changes stayed pending). */
  readonly failedFlushes: number;
  /** Updates written by all flushes together. */
  readonly updatesFlushed: number;
  /** `updatesFlushed / (flushes + syncFlushes)`, or 0 before the first flush. */
  readonly updatesPerFlush: number;
  /** Updates written by the last flush. */
  readonly lastFlushUpdates: number;
  /** Duration of the last flush in milliseconds (serialization and durable write), or `null`. */
  readonly lastFlushMs: number | null;
  /** Bytes written by the last flush. */
  readonly lastFlushBytes: number;
  /** When the last flush finished, or `null`. */
  readonly lastFlushAt: Date | null;
  /** Sum of all flush durations in milliseconds. */
  readonly totalFlushMs: number;
  /** The error of the last failed flush, cleared by the next successful one. */
  readonly lastError: Error | null;
}

interface OpenSession {
  readonly metadata: SessionMetadata;
  readonly prdSnapshot: string;
  readonly lock: SessionLock;
  readonly isNew: boolean;
  inFlight: readonly string[];
}

interface PrdContent {
  readonly bytes: Uint8Array;
  readonly text: string;
  readonly hash: string;
}

/**
 * Owns one session at a time: finds, creates or resumes it, keeps its backlog in memory, applies
 * status changes in O(depth), and writes them in batches with ordered, atomic flushes. One
 * process at a time may hold a session.
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
 * await manager.close(); // flushes and releases the lock
 * ```
 */
export class SessionManager {
  readonly #prd: { readonly path: string } | { readonly text: string } | undefined;
  readonly #store: SessionStore;
  readonly #policy: FlushPolicy;
  readonly #logger: SessionLogger;

  #session: OpenSession | undefined;
  #index: BacklogIndex | undefined;
  #view: ReadonlyBacklogIndex | undefined;
  #opening: Promise<SessionState> | undefined;
  #closing: Promise<void> | undefined;

  #dirty = false;
  #pending = 0;
  #version = 0;
  #syncVersion = 0;
  #chain: Promise<void> = Promise.resolve();
  #queuedFlushes = 0;
  #autoQueued = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  #flushes = 0;
  #syncFlushes = 0;
  #failedFlushes = 0;
  #updatesFlushed = 0;
  #lastFlushUpdates = 0;
  #lastFlushMs: number | null = null;
  #lastFlushBytes = 0;
  #lastFlushAt: Date | null = null;
  #totalFlushMs = 0;
  #lastError: Error | null = null;

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
          `SessionManager expected store to be a SessionStore, got ${show(options.store)}`,
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
    const session = this.#session;
    const index = this.#index;
    if (!session || !index) return null;
    const taskRegistry = index.backlog;
    return {
      metadata: session.metadata,
      prdSnapshot: session.prdSnapshot,
      taskRegistry,
      currentItemId: taskRegistry.currentItemId ?? null,
      isNew: session.isNew,
      isDelta: session.metadata.parentSession !== null,
      inFlight: session.inFlight,
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
    this.#requireIndex('index');
    return this.#view!;
  }

  /** Whether there are changes not yet handed to a flush. */
  get isDirty(): boolean {
    return this.#dirty;
  }

  /**
   * Opens the session for this PRD: resumes the latest session whose folder hash equals the PRD's
   * hash; otherwise creates a delta session whose parent is the latest session; otherwise creates
   * the first session. A created session gets `options.backlog`. Takes the session's lock; calling
   * it again while a session is open returns that session.
   *
   * When another process creates a session with the same hash between this process's look-up and
   * its own creation, that session is opened instead (usually a `LOCKED` error, since its creator
   * holds it) and the backlog produced here is discarded.
   *
   * @throws SessionError `LOCKED` (another live process holds the session), `BACKLOG_REQUIRED`,
   *   `INVALID_BACKLOG` (the stored or given backlog is invalid), `NOT_FOUND` (the PRD file), `IO`
   */
  initialize(options: InitializeOptions = {}): Promise<SessionState> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`initialize expected an options object, got ${show(options)}`);
    }
    if (this.#prd === undefined) throw noPrd();
    const source = options.backlog;
    if (source !== undefined && (typeof source !== 'object' || source === null)) {
      if (typeof source !== 'function') {
        throw new TypeError(
          `initialize expected backlog to be a backlog object or a function, got ${show(source)}`,
        );
      }
    }
    const current = this.currentSession;
    if (current) return Promise.resolve(current);
    if (this.#opening) return this.#opening;
    const opening = this.#initialize(options).finally(() => {
      this.#opening = undefined;
    });
    this.#opening = opening;
    return opening;
  }

  /**
   * Opens an existing session by its location (the folder path for the file store), taking its
   * lock. The folder's hash need not match its PRD snapshot.
   *
   * @throws TypeError when a session is already open (close it first)
   * @throws SessionError `LOCKED`, `NOT_FOUND`, `INVALID_BACKLOG`, `IO`
   */
  async loadSession(path: string, options: { signal?: AbortSignal } = {}): Promise<SessionState> {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`loadSession expected a session path, got ${show(path)}`);
    }
    if (this.#session || this.#opening) {
      throw new TypeError('loadSession expected no open session; call close() first');
    }
    const opening = this.#openExisting(path, options.signal).finally(() => {
      this.#opening = undefined;
    });
    this.#opening = opening;
    return opening;
  }

  /** Lists the store's complete sessions, ascending by sequence. */
  listSessions(): Promise<SessionSummary[]> {
    return this.#store.list();
  }

  /** The store's session with the highest sequence number, or `null`. */
  async findLatestSession(): Promise<SessionSummary | null> {
    return (await this.#store.list()).at(-1) ?? null;
  }

  /**
   * The latest session of the store for a PRD, given as its text, bytes, or 12-hex hash.
   * See the standalone {@link findSessionByPRD} for how a string is told apart from a hash.
   */
  async findSessionByPRD(prd: string | Uint8Array): Promise<SessionSummary | null> {
    return findByPrd(await this.#store.list(), prd);
  }

  /**
   * Reads the open session's parent (its backlog included) without locking it, or `null` when the
   * session is not a delta session.
   *
   * @throws SessionError `NO_SESSION`, `NOT_FOUND` (the parent folder is gone), `INVALID_BACKLOG`
   */
  async readParentSession(): Promise<SessionSnapshot | null> {
    const session = this.#requireSession('readParentSession');
    const parentId = session.metadata.parentSession;
    if (parentId === null) return null;
    const parent = (await this.#store.list()).find((summary) => summary.id === parentId);
    if (!parent) {
      throw new SessionError('NOT_FOUND', `parent session ${parentId} does not exist`, {
        id: parentId,
      });
    }
    return snapshotOf(await this.#store.read(parent.path));
  }

  /**
   * Validates `backlog`, makes it the in-memory registry (replacing any pending updates, which it
   * subsumes), and writes it atomically. Resolves once it is durable.
   *
   * `currentItemId` is taken from `backlog` as given.
   *
   * @throws SessionError `NO_SESSION`, `INVALID_BACKLOG` (nothing changes), `IO` (the new backlog
   *   stays in memory, dirty, for the next flush)
   */
  async saveBacklog(backlog: Backlog): Promise<void> {
    const index = this.#requireIndex('saveBacklog');
    const session = this.#session!;
    if (typeof backlog !== 'object' || backlog === null) {
      throw new TypeError(`saveBacklog expected a backlog object, got ${show(backlog)}`);
    }
    // The registry's own snapshot is never mutated by the manager, so it needs no copy; anything
    // else is copied so the caller keeping and changing its object cannot bypass the tracking.
    const candidate = backlog === index.backlog ? backlog : structuredClone(backlog);
    const { backlog: valid } = validateBacklog(
      candidate,
      `${session.metadata.id}/${SESSION_FILES.tasks}`,
    );
    index.replace(valid);
    this.#markChanged(0);
    await this.flushUpdates();
  }

  /**
   * Sets an item's status in memory (O(depth)), rolling the change up to its ancestors unless
   * `rollUp` is false. Any status may follow any other. Marks the session dirty; the change is
   * written by the next flush.
   *
   * @returns the new in-memory backlog snapshot
   * @throws SessionError `UNKNOWN_ITEM`, `NO_SESSION`
   * @throws TypeError when `status` is not a status
   */
  updateItemStatus(id: string, status: Status, options: UpdateStatusOptions = {}): Backlog {
    const index = this.#requireIndex('updateItemStatus');
    if (typeof id !== 'string') {
      throw new TypeError(`updateItemStatus expected an item id string, got ${show(id)}`);
    }
    if (!STATUS_SET.has(status)) {
      throw new TypeError(
        `updateItemStatus expected a status (${STATUSES.join(', ')}), got ${show(status)}`,
      );
    }
    if (!index.has(id)) throw unknownItem(id, this.#session!);
    const before = index.backlog;
    const after = index.setStatus(id, status, { rollUp: options.rollUp ?? true });
    if (after !== before) this.#markChanged(1);
    return after;
  }

  /**
   * Records the item the runner is on; persisted as `currentItemId` by the next flush.
   *
   * @param id - an item id of the backlog, or `null` for none
   * @throws SessionError `UNKNOWN_ITEM`, `NO_SESSION`
   */
  setCurrentItem(id: string | null): void {
    const index = this.#requireIndex('setCurrentItem');
    if (id !== null && typeof id !== 'string') {
      throw new TypeError(`setCurrentItem expected an item id string or null, got ${show(id)}`);
    }
    if (id !== null && !index.has(id)) throw unknownItem(id, this.#session!);
    if ((index.backlog.currentItemId ?? null) === id) return;
    index.setCurrentItemId(id);
    this.#markChanged(1);
  }

  /**
   * The item the runner is on, or `null`.
   *
   * @throws SessionError `NO_SESSION`
   */
  getCurrentItem(): string | null {
    return this.#requireIndex('getCurrentItem').backlog.currentItemId ?? null;
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
    const index = this.#requireIndex('recoverInFlight');
    const session = this.#session!;
    const ids = resetInFlight(index);
    session.inFlight = [];
    if (ids.length > 0) {
      this.#markChanged(ids.length);
      this.#logger.info?.('returned in-flight items to rest', {
        session: session.metadata.id,
        ids,
      });
    }
    return ids;
  }

  /**
   * Writes the latest in-memory state once, if anything changed since the last flush began.
   * Changes made while the write runs are left for the next flush; concurrent calls are queued, so
   * an older state never lands over a newer one. Resolves once the state as of the call (or newer)
   * is durable. Without an open session it does nothing.
   *
   * @throws SessionError `IO` when the write fails; the changes then stay pending
   */
  flushUpdates(): Promise<void> {
    this.#queuedFlushes += 1;
    const run = this.#chain.then(() => this.#flushOnce());
    const settled = run.finally(() => {
      this.#queuedFlushes -= 1;
    });
    this.#chain = settled.then(
      () => undefined,
      () => undefined,
    );
    return settled;
  }

  /**
   * Writes the latest in-memory state synchronously, for the last moments of a process (a second
   * signal, a fatal error). Writes even when an asynchronous flush is running, since that one may
   * never finish; if it does finish later, the session is marked dirty again so its older state
   * is overwritten by the next flush.
   *
   * @returns whether anything was written
   * @throws SessionError `IO`
   */
  flushSync(): boolean {
    const session = this.#session;
    const index = this.#index;
    if (!session || !index) return false;
    if (!this.#dirty && this.#queuedFlushes === 0) return false;
    assertHeld(session);
    const started = performance.now();
    const text = serializeBacklog(index.backlog);
    this.#store.saveSync(session.metadata.path, text);
    this.#clearTimer();
    this.#syncVersion = this.#version;
    this.#recordFlush(this.#pending, text, started);
    this.#syncFlushes += 1;
    this.#pending = 0;
    this.#dirty = false;
    return true;
  }

  /**
   * Writes an artifact such as `ERROR_REPORT.md` or `TEST_RESULTS.md` into the session, atomically.
   *
   * @param name - a plain file name (no path), not one of the session's own files
   * @returns where it was written
   * @throws TypeError for an unsafe or reserved name
   * @throws SessionError `NO_SESSION`, `IO`
   */
  async writeArtifact(name: string, text: string): Promise<string> {
    const session = this.#requireSession('writeArtifact');
    if (!isArtifactName(name)) {
      throw new TypeError(
        `writeArtifact expected a plain file name such as ${SESSION_FILES.errorReport} (not tasks.json, prd_snapshot.md or parent_session.txt), got ${show(name)}`,
      );
    }
    if (typeof text !== 'string') {
      throw new TypeError(`writeArtifact expected text to be a string, got ${show(text)}`);
    }
    return this.#store.writeArtifact(session.metadata.path, name, text);
  }

  /** Counters for logs: pending updates, flushes, updates per flush, timings. */
  getStats(): SessionStats {
    const flushCount = this.#flushes + this.#syncFlushes;
    return {
      pending: this.#pending,
      isDirty: this.#dirty,
      isFlushing: this.#queuedFlushes > 0,
      flushes: this.#flushes,
      syncFlushes: this.#syncFlushes,
      failedFlushes: this.#failedFlushes,
      updatesFlushed: this.#updatesFlushed,
      updatesPerFlush: flushCount === 0 ? 0 : this.#updatesFlushed / flushCount,
      lastFlushUpdates: this.#lastFlushUpdates,
      lastFlushMs: this.#lastFlushMs,
      lastFlushBytes: this.#lastFlushBytes,
      lastFlushAt: this.#lastFlushAt,
      totalFlushMs: this.#totalFlushMs,
      lastError: this.#lastError,
    };
  }

  /**
   * Flushes pending updates and releases the session's lock. If the flush fails the session stays
   * open and the error propagates, so nothing in memory is lost: retry, or use `flushSync()`.
   * The exception is `LOCK_LOST`: another process owns the session now, so it is closed without
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
    const session = this.#session;
    if (!session) return;
    this.flushSync();
    this.#detach();
    session.lock.releaseSync();
  }

  async #close(): Promise<void> {
    if (this.#opening) await this.#opening.catch(() => undefined);
    const session = this.#session;
    if (!session) return;
    try {
      // Loop: an update racing with close() may have queued one more flush behind ours.
      await this.flushUpdates();
      while (this.#queuedFlushes > 0 || this.#dirty) await this.flushUpdates();
    } catch (error) {
      // With the lock gone the session cannot be written any more: let it go, and tell the
      // caller. Any other failure keeps it open so nothing in memory is lost.
      if (error instanceof SessionError && error.code === 'LOCK_LOST') {
        this.#detach();
        // Releasing a lost lock leaves the new holder's file alone; it only stops our refresh.
        await session.lock.release().catch(() => undefined);
      }
      throw error;
    }
    this.#detach();
    await session.lock.release();
    this.#logger.debug?.('session closed', { session: session.metadata.id });
  }

  #detach(): void {
    this.#clearTimer();
    this.#session = undefined;
    this.#index = undefined;
    this.#view = undefined;
  }

  async #initialize(options: InitializeOptions): Promise<SessionState> {
    const prd = await this.#readPrd();
    const sessions = await this.#store.list();
    const match = sessions.filter((summary) => summary.hash === prd.hash).at(-1);
    if (match) return this.#openExisting(match.path, options.signal);

    const latest = sessions.at(-1) ?? null;
    let backlogInput: unknown = options.backlog;
    if (typeof backlogInput === 'function') {
      const parent = latest ? snapshotOf(await this.#store.read(latest.path)) : null;
      backlogInput = await (backlogInput as (context: NewSessionContext) => unknown)({
        hash: prd.hash,
        prdText: prd.text,
        parent,
      });
    }
    if (backlogInput === undefined) {
      throw new SessionError(
        'BACKLOG_REQUIRED',
        `no session in ${this.#store.location} matches PRD hash ${prd.hash}, and initialize() was given no backlog to create one`,
        { path: this.#store.location },
      );
    }
    if (typeof backlogInput !== 'object' || backlogInput === null) {
      throw new TypeError(
        `initialize expected the backlog (or the factory's result) to be an object, got ${show(backlogInput)}`,
      );
    }
    const { backlog, inFlight } = validateBacklog(
      structuredClone(backlogInput),
      'new session backlog',
    );
    const parentSession = latest?.id ?? null;
    const result = await this.#store.create(
      {
        hash: prd.hash,
        prdSnapshot: prd.bytes,
        tasksText: serializeBacklog(backlog),
        parentSession,
      },
      options.signal ? { signal: options.signal } : {},
    );
    if (result.status === 'exists') {
      this.#logger.warn?.('another process created a session for this PRD first; opening it', {
        session: result.session.id,
      });
      return this.#openExisting(result.session.path, options.signal);
    }
    const metadata = toMetadata(result.session, parentSession);
    this.#adopt(
      { metadata, prdSnapshot: prd.text, lock: result.lock, isNew: true, inFlight },
      backlog,
    );
    this.#logger.info?.(parentSession ? 'created delta session' : 'created first session', {
      session: metadata.id,
      parent: parentSession,
      path: metadata.path,
    });
    return this.currentSession!;
  }

  async #openExisting(path: string, signal: AbortSignal | undefined): Promise<SessionState> {
    const lock = await this.#store.lock(path, signal ? { signal } : {});
    try {
      const snapshot = snapshotOf(await this.#store.read(path));
      this.#adopt(
        {
          metadata: snapshot.metadata,
          prdSnapshot: snapshot.prdSnapshot,
          lock,
          isNew: false,
          inFlight: snapshot.inFlight,
        },
        snapshot.backlog,
      );
      const state = this.currentSession!;
      this.#logger.info?.('resumed session', {
        session: state.metadata.id,
        path: state.metadata.path,
      });
      if (state.inFlight.length > 0) {
        this.#logger.warn?.('items were in flight when the last run stopped', {
          session: state.metadata.id,
          ids: state.inFlight,
        });
      }
      return state;
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw error;
    }
  }

  #adopt(session: OpenSession, backlog: Backlog): void {
    this.#index = createBacklogIndex(backlog);
    this.#view = readonlyView(this.#index);
    this.#session = { ...session };
    this.#dirty = false;
    this.#pending = 0;
    this.#version = 0;
    this.#syncVersion = 0;
  }

  async #readPrd(): Promise<PrdContent> {
    if (this.#prd === undefined) throw noPrd();
    if ('text' in this.#prd) {
      const bytes = new TextEncoder().encode(this.#prd.text);
      return { bytes, text: this.#prd.text, hash: hashPrd(bytes) };
    }
    const path = this.#prd.path;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        throw new SessionError('NOT_FOUND', `PRD file ${path} does not exist`, {
          path,
          cause: error,
        });
      }
      throw new SessionError('IO', `cannot read PRD file ${path}: ${(error as Error).message}`, {
        path,
        cause: error,
      });
    }
    return { bytes, text: new TextDecoder().decode(bytes), hash: hashPrd(bytes) };
  }

  async #flushOnce(): Promise<void> {
    const session = this.#session;
    const index = this.#index;
    this.#autoQueued = false;
    if (!session || !index || !this.#dirty) return;
    try {
      assertHeld(session);
    } catch (error) {
      this.#failedFlushes += 1;
      this.#lastError = error as SessionError;
      throw error;
    }
    this.#clearTimer();
    // Take the snapshot and clear the flag before awaiting: an update landing while the write
    // runs sets the flag again and is written by the next flush instead of being forgotten.
    const snapshot = index.backlog;
    const version = this.#version;
    const count = this.#pending;
    this.#dirty = false;
    this.#pending = 0;
    const started = performance.now();
    let text: string;
    try {
      text = serializeBacklog(snapshot);
      await this.#store.save(session.metadata.path, text);
    } catch (error) {
      this.#dirty = true;
      this.#pending += count;
      this.#failedFlushes += 1;
      const wrapped =
        error instanceof SessionError
          ? error
          : new SessionError(
              'IO',
              `cannot flush session ${session.metadata.id}: ${(error as Error)?.message ?? String(error)}`,
              { path: session.metadata.path, id: session.metadata.id, cause: error },
            );
      this.#lastError = wrapped;
      this.#armTimer();
      throw wrapped;
    }
    this.#recordFlush(count, text, started);
    this.#flushes += 1;
    this.#lastError = null;
    if (this.#syncVersion > version) {
      // A synchronous flush wrote newer state while this write was running, and this older
      // write may have landed after it: make the next flush write the latest again.
      this.#dirty = true;
      this.#armTimer();
    }
    this.#logger.debug?.('flushed session', {
      session: session.metadata.id,
      updates: count,
      bytes: this.#lastFlushBytes,
      ms: this.#lastFlushMs,
    });
  }

  #recordFlush(count: number, text: string, started: number): void {
    const elapsed = performance.now() - started;
    this.#updatesFlushed += count;
    this.#lastFlushUpdates = count;
    this.#lastFlushMs = elapsed;
    this.#lastFlushBytes = Buffer.byteLength(text);
    this.#lastFlushAt = new Date();
    this.#totalFlushMs += elapsed;
  }

  #markChanged(updates: number): void {
    this.#version += 1;
    this.#pending += updates;
    this.#dirty = true;
    const { maxPending } = this.#policy;
    if (maxPending !== undefined && this.#pending >= maxPending && !this.#autoQueued) {
      this.#autoQueued = true;
      this.#autoFlush('maxPending');
      return;
    }
    this.#armTimer();
  }

  #armTimer(): void {
    const { maxDelayMs } = this.#policy;
    if (maxDelayMs === undefined || this.#timer !== undefined || !this.#session) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#autoFlush('maxDelayMs');
    }, maxDelayMs);
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #autoFlush(reason: 'maxPending' | 'maxDelayMs'): void {
    this.flushUpdates().catch((error: unknown) => {
      this.#logger.error?.('automatic flush failed; changes stay pending', {
        reason,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }

  #requireSession(operation: string): OpenSession {
    const session = this.#session;
    if (!session) {
      throw new SessionError(
        'NO_SESSION',
        `${operation} needs an open session: call initialize() or loadSession() first`,
      );
    }
    return session;
  }

  #requireIndex(operation: string): BacklogIndex {
    this.#requireSession(operation);
    return this.#index!;
  }
}

/**
 * The querying half of the task-schema index, as exposed by {@link SessionManager.index}.
 * Its mutating methods are left out so every change goes through the manager.
 */
export type ReadonlyBacklogIndex = Pick<
  BacklogIndex,
  | 'backlog'
  | 'get'
  | 'has'
  | 'getParent'
  | 'getChildren'
  | 'ancestors'
  | 'pathOf'
  | 'subtasks'
  | 'isDone'
  | 'isReady'
  | 'nextReady'
  | 'blockers'
  | 'countByStatus'
>;

/** A view that forwards queries to `index` and has no way to change it. */
function readonlyView(index: BacklogIndex): ReadonlyBacklogIndex {
  return Object.freeze({
    get backlog() {
      return index.backlog;
    },
    get: (id: string) => index.get(id),
    has: (id: string) => index.has(id),
    getParent: (id: string) => index.getParent(id),
    getChildren: (id: string) => index.getChildren(id),
    ancestors: (id: string) => index.ancestors(id),
    pathOf: (id: string) => index.pathOf(id),
    subtasks: (scope?: string) => index.subtasks(scope),
    isDone: (id: string) => index.isDone(id),
    isReady: (id: string) => index.isReady(id),
    nextReady: (options?: Parameters<BacklogIndex['nextReady']>[0]) => index.nextReady(options),
    blockers: (id: string) => index.blockers(id),
    countByStatus: (scope?: string) => index.countByStatus(scope),
  });
}

const STATUS_SET: ReadonlySet<string> = new Set(STATUSES);

function unknownItem(id: string, session: OpenSession): SessionError {
  return new SessionError(
    'UNKNOWN_ITEM',
    `no item with id ${JSON.stringify(id)} in session ${session.metadata.id}`,
    { id, path: session.metadata.path },
  );
}

function assertHeld(session: OpenSession): void {
  const signal = session.lock.signal;
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  const holder = (reason as { holder?: { pid?: unknown; hostname?: unknown } } | undefined)?.holder;
  const by =
    holder && typeof holder.pid === 'number'
      ? `taken over by pid ${holder.pid}${typeof holder.hostname === 'string' ? ` on ${holder.hostname}` : ''}`
      : 'removed or taken over';
  throw new SessionError(
    'LOCK_LOST',
    `the lock of session ${session.metadata.id} was ${by}; not writing over another process`,
    {
      path: session.metadata.path,
      id: session.metadata.id,
      ...(holder && typeof holder.pid === 'number'
        ? {
            holder: {
              pid: holder.pid,
              ...(typeof holder.hostname === 'string' ? { hostname: holder.hostname } : {}),
            },
          }
        : {}),
      cause: reason,
    },
  );
}

function noPrd(): TypeError {
  return new TypeError(
    'initialize expected the manager to have a PRD: pass prdPath or prdText to the constructor',
  );
}

function isStore(value: unknown): value is SessionStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['list', 'create', 'read', 'lock', 'save', 'saveSync', 'writeArtifact'].every(
    (name) => typeof store[name] === 'function',
  );
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
