import type { Status } from '@savepoint/task-schema';
import type { SessionLockHolder } from './errors.ts';

/**
 * The store contract: how the session layer talks to storage.
 *
 * A store keeps sessions. Each session is a PRD snapshot, a backlog snapshot (the text of
 * `tasks.json` in the file store), the change batches appended since that snapshot, and named
 * artifacts. The session layer opens a session into a {@link SessionHandle}, loads it once, then
 * appends one {@link ChangeBatch} per flush and now and then compacts (a new snapshot that
 * contains every batch so far). Stores that serve several workers also implement
 * {@link SessionClaims}.
 *
 * Every implementation runs the one contract suite exported as `@savepoint/session/contract`.
 *
 * @module
 */

/** A session as listed by a store: enough to pick one without reading its backlog. */
export interface SessionSummary {
  /** The session id, which is also its folder name in the file store: `001_14b9dc2a33c7`. */
  readonly id: string;
  /** The sequence number from the id. */
  readonly sequence: number;
  /** The PRD hash from the id (not recomputed from the snapshot). */
  readonly hash: string;
  /**
   * Where the session lives: the folder path for the file store, a store-specific locator
   * otherwise. Accepted wherever a session reference is (see {@link SessionRef}).
   */
  readonly path: string;
  /** When the session was created. */
  readonly createdAt: Date;
}

/**
 * A session that exists under a session's name but cannot be used because a required part is
 * missing or unreadable. Stores report these from {@link SessionStore.list} instead of skipping
 * them, so a damaged session is never mistaken for an absent one.
 */
export interface IncompleteSession {
  /** The id (folder name) of the damaged session. */
  readonly id: string;
  /** Where it lives (the folder path for the file store). */
  readonly path: string;
  /** The required part that is missing, e.g. `tasks.json` or `prd_snapshot.md`. */
  readonly missing: string;
}

/** What {@link SessionStore.list} returns. */
export interface SessionListing {
  /** Complete sessions, ascending by sequence number. */
  readonly sessions: readonly SessionSummary[];
  /** Sessions lacking a required part, ascending by sequence number; usually empty. */
  readonly incomplete: readonly IncompleteSession[];
}

/**
 * A session reference: its id (`001_14b9dc2a33c7`) or the `path` a {@link SessionSummary} gave.
 * The file store also takes any path of a session folder.
 */
export type SessionRef = string;

/**
 * One status change, as data: item `id` now has `status`. Roll-up results are recorded as
 * changes of their own, so applying a batch never needs the roll-up rule.
 */
export interface StatusChange {
  /** The backlog item id, e.g. `P1.M1.T1.S1`. */
  readonly id: string;
  /** The item's status after the change. */
  readonly status: Status;
}

/**
 * Everything that changed in a session between two flushes, as the session layer owns it: final
 * statuses by item id (each id at most once, in the order first changed) and, when it changed,
 * `currentItemId`. Every value is absolute, so applying a batch to a state that already contains
 * it changes nothing. A database store may keep the same data as rows.
 */
export interface ChangeBatch {
  /**
   * The batch's number: 1 for the first batch of a session, then +1 per batch, never reused
   * (compaction does not reset it). Assigned by the session layer.
   */
  readonly sequence: number;
  /** Status changes, at most one per item id. */
  readonly statuses: readonly StatusChange[];
  /** The new `currentItemId`, or `undefined` when it did not change. */
  readonly currentItemId?: string | null;
}

/** A backlog snapshot as handed to {@link SessionHandle.compact}. */
export interface SnapshotInput {
  /**
   * The snapshot's text: canonical `tasks.json` content (2-space JSON and a final newline) in the
   * origin's format. Stores keep it byte for byte.
   */
  readonly text: string;
  /** The sequence number of the last batch it contains (0 when none). */
  readonly sequence: number;
}

/** What {@link SessionHandle.load} and {@link SessionStore.read} return. */
export interface LoadedSession {
  /** The session's identity. */
  readonly summary: SessionSummary;
  /** The PRD as it was when the session began, decoded as UTF-8. */
  readonly prdSnapshot: string;
  /** The parent session's id for a delta session, else `null`. */
  readonly parentSession: string | null;
  /** The snapshot's text (`tasks.json`), exactly as stored. */
  readonly snapshotText: string;
  /** The sequence number of the last batch the snapshot contains (0 when none). */
  readonly snapshotSequence: number;
  /**
   * The batches appended since the snapshot, in order, numbered `snapshotSequence + 1` onwards
   * without gaps; batches the snapshot already contains are never returned.
   */
  readonly changes: readonly ChangeBatch[];
  /** What was found after the last whole batch. */
  readonly tail: JournalTail;
}

/**
 * The end of a session's change log as found on load. A crash during an append can leave a
 * partial batch at the very end; it is ignored (it was never acknowledged) and cut off before
 * the next append. Damage anywhere before the end is not a tail: loading refuses it with a
 * `SessionError` of code `CORRUPT`.
 */
export interface JournalTail {
  /** Bytes after the last whole batch that were ignored (0 for a clean end). */
  readonly discardedBytes: number;
  /** Size in bytes of the change log up to the end of the last whole batch. */
  readonly validBytes: number;
}

/** Everything a new session is created with. */
export interface SessionDraft {
  /** The PRD hash (12 lowercase hex digits) that names the session. */
  readonly hash: string;
  /** The PRD, stored byte for byte as the snapshot. */
  readonly prdSnapshot: string | Uint8Array;
  /** The initial snapshot text (`tasks.json`). */
  readonly tasksText: string;
  /** The parent session's id for a delta session, else `null`. */
  readonly parentSession: string | null;
}

/** The outcome of {@link SessionStore.create}. */
export type CreateSessionResult =
  | {
      /** The session was created and is open (and locked) for the caller. */
      readonly status: 'created';
      /** The new session. */
      readonly session: SessionSummary;
      /** The open session; release it when done. */
      readonly handle: SessionHandle;
    }
  | {
      /**
       * A session with the draft's hash existed by the time the sequence number was chosen
       * (typically another process created it first); nothing was written and the caller should
       * open that one instead.
       */
      readonly status: 'exists';
      /** The session that already has the draft's hash. */
      readonly session: SessionSummary;
    };

/** Options for operations that may wait. */
export interface StoreWaitOptions {
  /** Aborts the wait; the operation then rejects with a `SessionError` of code `ABORTED`. */
  readonly signal?: AbortSignal;
}

/**
 * One open session, held by this process (the file store holds the session's lock for as long as
 * the handle is open). Writes are serialised by the caller: the session layer never starts a write
 * before the previous one settled, except the synchronous ones of a process about to exit.
 *
 * Every write is durable when it resolves, and all or nothing: after a crash at any instant, a
 * load returns either the state before the write or the state after it.
 */
export interface SessionHandle {
  /** The session's identity. */
  readonly summary: SessionSummary;
  /** The process recorded as holding the session, when the store records one. */
  readonly holder?: SessionLockHolder;
  /**
   * Aborts when the hold on the session is lost (the lock file was removed or taken over, a lease
   * expired); every write then throws `SessionError` `LOCK_LOST`. Never aborts for a store whose
   * hold cannot be lost.
   */
  readonly signal: AbortSignal;
  /**
   * Reads the session: PRD, snapshot text, and every batch appended since the snapshot, parsed.
   * A torn tail is reported in {@link LoadedSession.tail} and cut off before the next append.
   *
   * @throws SessionError `NOT_FOUND` (a required part is gone), `CORRUPT` (the change log is
   *   damaged before its tail; the error names the file and the byte offset), `IO`
   */
  load(): Promise<LoadedSession>;
  /**
   * Appends one batch durably (the file store: one framed record, then fdatasync). Its
   * `sequence` must be one more than the last batch loaded, appended or compacted.
   *
   * @throws SessionError `LOCK_LOST`, `IO` (nothing of the batch is kept)
   * @throws TypeError when the batch is malformed or out of sequence
   */
  append(batch: ChangeBatch): Promise<void>;
  /** {@link SessionHandle.append}, synchronously: for the last moments of a process. */
  appendSync(batch: ChangeBatch): void;
  /**
   * Replaces the snapshot with one containing every batch up to `snapshot.sequence`, then starts
   * an empty change log. A crash at any instant leaves the old snapshot with its batches or the
   * new snapshot, never a batch lost or applied twice. `snapshot.sequence` must be at least the
   * last batch appended (a snapshot never goes back in time).
   *
   * @throws SessionError `LOCK_LOST`, `IO` (the old snapshot and batches stay as they were)
   */
  compact(snapshot: SnapshotInput): Promise<void>;
  /** {@link SessionHandle.compact}, synchronously: for the last moments of a process. */
  compactSync(snapshot: SnapshotInput): void;
  /**
   * Writes a named artifact (`ERROR_REPORT.md`, `TEST_RESULTS.md`, ...) durably, replacing any
   * earlier one of that name.
   *
   * @param name - a plain file name accepted by `isArtifactName`
   * @returns where the artifact was written (a file path for the file store)
   * @throws TypeError for a name that is not an artifact name
   * @throws SessionError `LOCK_LOST`, `IO`
   */
  writeArtifact(name: string, text: string): Promise<string>;
  /**
   * Removes a named artifact durably; nothing happens when it does not exist.
   *
   * @throws TypeError for a name that is not an artifact name
   * @throws SessionError `LOCK_LOST`, `IO`
   */
  removeArtifact(name: string): Promise<void>;
  /** Releases the session (the file store: its lock and open files). Idempotent. */
  release(): Promise<void>;
  /** {@link SessionHandle.release}, synchronously: for the last moments of a process. Idempotent. */
  releaseSync(): void;
  /**
   * Claims, for stores that let several workers share the session (absent otherwise: one
   * process holds the session and schedules by itself).
   */
  readonly claims?: SessionClaims;
}

/** Options of {@link SessionClaims.claimNext}. */
export interface ClaimOptions {
  /** Who claims: a stable id of the worker (process, host, slot). Non-empty. */
  readonly workerId: string;
  /** How long the lease lasts unless renewed, in milliseconds. Positive. */
  readonly leaseMs: number;
  /** Claim only subtasks under this item id (a phase, milestone or task id, or a subtask id). */
  readonly scope?: string;
  /** Subtask ids not to claim (for example ones this worker already failed in this run). */
  readonly skip?: readonly string[];
}

/** A subtask held by one worker until its lease expires. */
export interface Claim {
  /** The claimed subtask's id. */
  readonly itemId: string;
  /** The worker holding it. */
  readonly workerId: string;
  /**
   * Identifies this lease: a later claim of the same item (after this one expired) has a
   * different token, so an outcome recorded with this claim is refused.
   */
  readonly token: string;
  /** When the lease expires unless renewed, on the store's clock. */
  readonly expiresAt: Date;
}

/** The outcome of a claimed subtask, as recorded by {@link SessionClaims.record}. */
export interface ClaimOutcome {
  /** The subtask's new status, e.g. `Complete`, `Failed`, or `Planned` to be tried again. */
  readonly status: Status;
}

/** What {@link SessionClaims.record} did. */
export type RecordResult =
  | {
      /** The outcome was recorded (exactly once) and the lease ended. */
      readonly recorded: true;
    }
  | {
      /**
       * Nothing was recorded: the lease had expired or been given to another worker, so this
       * worker's result must be dropped (the item runs again elsewhere).
       */
      readonly recorded: false;
      /** Why. */
      readonly reason: 'lease-lost';
    };

/**
 * Claims for stores that serve several workers at once (the PostgreSQL store). Ready means:
 * a Planned subtask (or Retrying one whose backoff has passed) whose dependencies are all
 * Complete, first in depth-first order, not held by a live lease.
 */
export interface SessionClaims {
  /**
   * Claims the next ready subtask for `workerId` under a lease, setting it in flight.
   *
   * @returns the claim, or `null` when nothing is ready now
   */
  claimNext(options: ClaimOptions): Promise<Claim | null>;
  /**
   * Extends a lease (a heartbeat) by `leaseMs` from now.
   *
   * @returns the renewed claim, or `null` when the lease was already lost
   */
  renew(claim: Claim, leaseMs: number): Promise<Claim | null>;
  /**
   * Records a claimed subtask's outcome, fenced by the lease: only the worker holding an
   * unexpired lease with this token can record, so a worker whose lease expired cannot mark the
   * item Complete.
   */
  record(claim: Claim, outcome: ClaimOutcome): Promise<RecordResult>;
  /**
   * Gives expired leases back: their subtasks return to Planned for another worker.
   *
   * @returns the ids of the subtasks given back
   */
  releaseExpired(): Promise<string[]>;
}

/**
 * Where sessions are kept. The session layer talks only to this interface: the file store
 * ({@link createFileStore}), the memory store ({@link createMemoryStore}) and third-party stores
 * implement it and run the contract suite (`@savepoint/session/contract`).
 *
 * Implementations throw `SessionError` (`LOCKED`, `NOT_FOUND`, `INCOMPLETE_SESSION`, `CORRUPT`,
 * `ABORTED`, `IO`, `LOCK_LOST`) and `TypeError` for malformed arguments.
 */
export interface SessionStore {
  /** A human-readable name of the place the store keeps sessions (the plan directory). */
  readonly location: string;
  /**
   * Lists sessions, ascending by sequence, and reports incomplete ones separately (never skips
   * them). Entries that are not sessions at all (temp folders, locks) are not listed.
   *
   * @throws SessionError `IO`
   */
  list(): Promise<SessionListing>;
  /**
   * Creates a session atomically with the next free sequence number and opens it for the
   * caller. Two creators never get the same sequence number. Returns `{ status: 'exists' }`
   * instead, writing nothing, when a session with the draft's hash exists by the time the
   * sequence number is chosen.
   *
   * @throws SessionError `LOCKED` (the store's creation lock is held too long), `ABORTED`, `IO`
   */
  create(draft: SessionDraft, options?: StoreWaitOptions): Promise<CreateSessionResult>;
  /**
   * Opens a session for this process (the file store takes its lock).
   *
   * @throws SessionError `LOCKED` naming the holder when a live process has it, `NOT_FOUND`,
   *   `INCOMPLETE_SESSION`, `ABORTED`, `IO`
   */
  open(ref: SessionRef, options?: StoreWaitOptions): Promise<SessionHandle>;
  /**
   * Reads a session without opening it (no lock), for readers such as `readSession()` and
   * `savepoint status`: the same result as {@link SessionHandle.load}, consistent even while
   * another process appends or compacts.
   *
   * @throws SessionError `NOT_FOUND`, `INCOMPLETE_SESSION`, `CORRUPT`, `IO`
   */
  read(ref: SessionRef): Promise<LoadedSession>;
}
