import { SessionError, type SessionLockHolder } from './errors.ts';
import { checkDraft, show } from './internal/checks.ts';
import { checkBatch } from './internal/journal.ts';
import { formatSessionName, isArtifactName, parseSessionName } from './layout.ts';
import type {
  ChangeBatch,
  CreateSessionResult,
  LoadedSession,
  SessionDraft,
  SessionHandle,
  SessionListing,
  SessionRef,
  SessionStore,
  SessionSummary,
  SnapshotInput,
  StoreWaitOptions,
} from './store.ts';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The name reported as the store's `location` and used in each session's `path`
   * (`<location>/<id>`).
   *
   * @default 'memory:'
   */
  location?: string;
}

/**
 * A store that keeps sessions in memory, for tests and examples: the same contract as the file
 * store (it runs the same contract suite), nothing on disk, gone with the process. A session is
 * held by one handle at a time, as the file store's lock would.
 *
 * @example
 * ```ts
 * const manager = new SessionManager({ prdText: '# PRD', store: createMemoryStore() });
 * await manager.initialize({ backlog });
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): SessionStore {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createMemoryStore expected an options object, got ${show(options)}`);
  }
  const location = options.location ?? 'memory:';
  if (typeof location !== 'string' || location === '') {
    throw new TypeError(`createMemoryStore expected location to be a name, got ${show(location)}`);
  }
  return new MemoryStore(location);
}

interface MemorySession {
  readonly summary: SessionSummary;
  readonly prd: Uint8Array;
  readonly parentSession: string | null;
  snapshot: SnapshotInput;
  batches: ChangeBatch[];
  readonly artifacts: Map<string, string>;
  holder: MemoryHandle | undefined;
}

class MemoryStore implements SessionStore {
  readonly location: string;
  readonly #sessions = new Map<string, MemorySession>();

  constructor(location: string) {
    this.location = location;
  }

  async list(): Promise<SessionListing> {
    const sessions = [...this.#sessions.values()]
      .map((session) => session.summary)
      .sort((a, b) => a.sequence - b.sequence);
    return { sessions, incomplete: [] };
  }

  async create(draft: SessionDraft, options: StoreWaitOptions = {}): Promise<CreateSessionResult> {
    checkDraft(draft);
    if (options.signal?.aborted) {
      throw new SessionError('ABORTED', `creating a session in ${this.location}: aborted`, {
        cause: options.signal.reason,
      });
    }
    // One synchronous step from here on: nothing can come between the look-up and the insert.
    let sequence = 0;
    let existing: SessionSummary | undefined;
    for (const session of this.#sessions.values()) {
      sequence = Math.max(sequence, session.summary.sequence);
      if (session.summary.hash === draft.hash) {
        if (!existing || session.summary.sequence > existing.sequence) existing = session.summary;
      }
    }
    if (existing) return { status: 'exists', session: existing };
    const id = formatSessionName(sequence + 1, draft.hash);
    const summary: SessionSummary = {
      id,
      sequence: sequence + 1,
      hash: draft.hash,
      path: `${this.location}/${id}`,
      createdAt: new Date(),
    };
    const session: MemorySession = {
      summary,
      prd:
        typeof draft.prdSnapshot === 'string'
          ? new TextEncoder().encode(draft.prdSnapshot)
          : new Uint8Array(draft.prdSnapshot),
      parentSession: draft.parentSession,
      snapshot: { text: draft.tasksText, sequence: 0 },
      batches: [],
      artifacts: new Map(),
      holder: undefined,
    };
    this.#sessions.set(id, session);
    const handle = new MemoryHandle(session);
    session.holder = handle;
    return { status: 'created', session: summary, handle };
  }

  async open(ref: SessionRef, options: StoreWaitOptions = {}): Promise<SessionHandle> {
    const session = this.#find(ref, 'open');
    if (options.signal?.aborted) {
      throw new SessionError('ABORTED', `opening ${session.summary.id}: aborted`, {
        id: session.summary.id,
        cause: options.signal.reason,
      });
    }
    if (session.holder) {
      throw new SessionError(
        'LOCKED',
        `${session.summary.path} is held by pid ${process.pid} (another handle of this store)`,
        { path: session.summary.path, id: session.summary.id, holder: HOLDER },
      );
    }
    const handle = new MemoryHandle(session);
    session.holder = handle;
    return handle;
  }

  async read(ref: SessionRef): Promise<LoadedSession> {
    return loadOf(this.#find(ref, 'read'));
  }

  #find(ref: SessionRef, operation: string): MemorySession {
    if (typeof ref !== 'string' || ref === '') {
      throw new TypeError(`${operation} expected a session id or path, got ${show(ref)}`);
    }
    const prefix = `${this.location}/`;
    const id = ref.startsWith(prefix) ? ref.slice(prefix.length) : ref;
    const session = parseSessionName(id) ? this.#sessions.get(id) : undefined;
    if (!session) {
      throw new SessionError('NOT_FOUND', `no session ${ref} in ${this.location}`, {
        path: ref,
      });
    }
    return session;
  }
}

const HOLDER: SessionLockHolder = { pid: process.pid };

class MemoryHandle implements SessionHandle {
  readonly summary: SessionSummary;
  readonly holder: SessionLockHolder = HOLDER;
  readonly signal: AbortSignal = new AbortController().signal;
  readonly #session: MemorySession;
  #released = false;

  constructor(session: MemorySession) {
    this.summary = session.summary;
    this.#session = session;
  }

  async load(): Promise<LoadedSession> {
    this.#assertOpen('load');
    return loadOf(this.#session);
  }

  async append(batch: ChangeBatch): Promise<void> {
    this.appendSync(batch);
  }

  appendSync(batch: ChangeBatch): void {
    const problem = checkBatch(batch);
    if (problem) throw new TypeError(`append expected ${problem}, got ${show(batch)}`);
    this.#assertOpen('append');
    const session = this.#session;
    const last = session.snapshot.sequence + session.batches.length;
    if (batch.sequence !== last + 1) {
      throw new TypeError(`append expected batch ${last + 1}, got batch ${batch.sequence}`);
    }
    session.batches.push(copyBatch(batch));
  }

  async compact(snapshot: SnapshotInput): Promise<void> {
    this.compactSync(snapshot);
  }

  compactSync(snapshot: SnapshotInput): void {
    if (
      typeof snapshot !== 'object' ||
      snapshot === null ||
      typeof snapshot.text !== 'string' ||
      !Number.isSafeInteger(snapshot.sequence) ||
      snapshot.sequence < 0
    ) {
      throw new TypeError(
        `compact expected {text: string, sequence: non-negative integer}, got ${show(snapshot)}`,
      );
    }
    this.#assertOpen('compact');
    const session = this.#session;
    const last = session.snapshot.sequence + session.batches.length;
    if (snapshot.sequence < last) {
      throw new TypeError(
        `compact expected a snapshot at batch ${last} or later, got ${snapshot.sequence}`,
      );
    }
    session.snapshot = { text: snapshot.text, sequence: snapshot.sequence };
    session.batches = [];
  }

  async writeArtifact(name: string, text: string): Promise<string> {
    checkArtifact(name, 'writeArtifact');
    if (typeof text !== 'string') {
      throw new TypeError(`writeArtifact expected text to be a string, got ${show(text)}`);
    }
    this.#assertOpen('writeArtifact');
    this.#session.artifacts.set(name, text);
    return `${this.summary.path}/${name}`;
  }

  async removeArtifact(name: string): Promise<void> {
    checkArtifact(name, 'removeArtifact');
    this.#assertOpen('removeArtifact');
    this.#session.artifacts.delete(name);
  }

  async release(): Promise<void> {
    this.releaseSync();
  }

  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#session.holder === this) this.#session.holder = undefined;
  }

  #assertOpen(operation: string): void {
    if (this.#released) {
      throw new SessionError(
        'NO_SESSION',
        `${operation}: session ${this.summary.id} was released`,
        { id: this.summary.id, path: this.summary.path },
      );
    }
  }
}

function loadOf(session: MemorySession): LoadedSession {
  return {
    summary: session.summary,
    prdSnapshot: new TextDecoder().decode(session.prd),
    parentSession: session.parentSession,
    snapshotText: session.snapshot.text,
    snapshotSequence: session.snapshot.sequence,
    changes: session.batches.map(copyBatch),
    tail: { validBytes: 0, discardedBytes: 0 },
  };
}

function copyBatch(batch: ChangeBatch): ChangeBatch {
  return {
    sequence: batch.sequence,
    statuses: batch.statuses.map((change) => ({ id: change.id, status: change.status })),
    ...(batch.currentItemId !== undefined ? { currentItemId: batch.currentItemId } : {}),
  };
}

function checkArtifact(name: string, operation: string): void {
  if (!isArtifactName(name)) {
    throw new TypeError(
      `${operation} expected a plain file name other than the session's own files, got ${show(name)}`,
    );
  }
}
