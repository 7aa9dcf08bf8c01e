import type { SessionLockHolder } from './errors.ts';

/** A session as listed by a store: enough to pick one without reading its backlog. */
export interface SessionSummary {
  /** The session id, which is also its folder name: `001_14b9dc2a33c7`. */
  readonly id: string;
  /** The sequence number from the id. */
  readonly sequence: number;
  /** The PRD hash from the id (not recomputed from the snapshot). */
  readonly hash: string;
  /** Where the session lives: the folder path for the file store. */
  readonly path: string;
  /** When the session was created. */
  readonly createdAt: Date;
}

/** A session's stored content, as raw text: the store knows nothing of backlog schemas. */
export interface StoredSession {
  /** The session's identity. */
  readonly summary: SessionSummary;
  /** The PRD as it was when the session began. */
  readonly prdSnapshot: string;
  /** The text of `tasks.json`. */
  readonly tasksText: string;
  /** The parent session's id for a delta session, else `null`. */
  readonly parentSession: string | null;
}

/** Everything a new session is created with. */
export interface SessionDraft {
  /** The PRD hash (12 lowercase hex digits) that names the session. */
  readonly hash: string;
  /** The PRD, stored byte for byte as the snapshot. */
  readonly prdSnapshot: string | Uint8Array;
  /** The initial `tasks.json` text. */
  readonly tasksText: string;
  /** The parent session's id for a delta session, else `null`. */
  readonly parentSession: string | null;
}

/** The outcome of {@link SessionStore.create}. */
export type CreateSessionResult =
  | {
      /** The session was created and is locked by the caller. */
      readonly status: 'created';
      readonly session: SessionSummary;
      readonly lock: SessionLock;
    }
  | {
      /**
       * A session with the draft's hash appeared before this one could be created (another
       * process created it); nothing was written and the caller should open that one instead.
       */
      readonly status: 'exists';
      readonly session: SessionSummary;
    };

/** Options for operations that may wait. */
export interface StoreWaitOptions {
  /** Aborts the wait; the operation then rejects with a `SessionError` of code `ABORTED`. */
  readonly signal?: AbortSignal;
}

/** An exclusive hold on one session, released when the process is done with it. */
export interface SessionLock {
  /** The process recorded as holding the lock (this one). */
  readonly holder: SessionLockHolder;
  /**
   * Aborts if the lock is found removed or taken over while held; the manager then refuses to
   * write. Optional for stores whose locks cannot be lost.
   */
  readonly signal?: AbortSignal;
  /** Releases the lock. Idempotent. */
  release(): Promise<void>;
  /** Releases the lock synchronously, for the last moments of a process. Idempotent. */
  releaseSync(): void;
}

/**
 * Where sessions are kept. The manager talks only to this interface, so a store on a database can
 * replace the default file store ({@link createFileStore}) without changing the manager's callers.
 *
 * Implementations throw `SessionError` (`LOCKED`, `NOT_FOUND`, `ABORTED`, `IO`). Every method that
 * writes must leave either the old content or the new, never a mix.
 */
export interface SessionStore {
  /** A human-readable name of the place the store keeps sessions (the plan directory). */
  readonly location: string;
  /** Lists complete sessions, ascending by sequence. Incomplete or foreign entries are skipped. */
  list(): Promise<SessionSummary[]>;
  /**
   * Creates a session atomically with the next free sequence number and locks it for the
   * caller. Returns `{ status: 'exists' }` instead when a session with the draft's hash exists by
   * the time the sequence number is chosen.
   */
  create(draft: SessionDraft, options?: StoreWaitOptions): Promise<CreateSessionResult>;
  /** Reads a session; `NOT_FOUND` when it or one of its required parts is missing. */
  read(path: string): Promise<StoredSession>;
  /** Locks a session for this process; `LOCKED` naming the holder when a live process has it. */
  lock(path: string, options?: StoreWaitOptions): Promise<SessionLock>;
  /** Replaces the session's `tasks.json` text durably. */
  save(path: string, tasksText: string): Promise<void>;
  /** Replaces the session's `tasks.json` text durably and synchronously. */
  saveSync(path: string, tasksText: string): void;
  /**
   * Writes a named artifact (`ERROR_REPORT.md`, `TEST_RESULTS.md`, ...) durably.
   *
   * @returns where the artifact was written
   */
  writeArtifact(path: string, name: string, text: string): Promise<string>;
}
