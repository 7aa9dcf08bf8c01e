import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  type AppendFile,
  acquireLock,
  type Lock,
  openAppendFile,
  openAppendFileSync,
  readLockHolder,
  StoreError,
  sweepTempFiles,
  syncDirectory,
  writeFileAtomic,
  writeFileAtomicSync,
} from '@savepoint/atomic-store';
import { SessionError, type SessionLockHolder } from './errors.ts';
import { checkDraft, show } from './internal/checks.ts';
import {
  baseOf,
  checkBatchHead,
  decodeJournal,
  encodeBase,
  encodeBatch,
  type JournalBase,
  matchesBase,
  STATUS_CHANGES,
} from './internal/journal.ts';
import { lockLost } from './internal/lock-lost.ts';
import { formatSessionName, isArtifactName, parseSessionName, SESSION_FILES } from './layout.ts';
import type {
  ChangeBatch,
  CreateSessionResult,
  IncompleteSession,
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

/** Options of {@link createFileStore}. */
export interface FileStoreOptions {
  /**
   * How long `create` waits for another process that is creating a session in the same plan
   * directory (creation holds `<planDir>/.plan.lock` for a few milliseconds).
   *
   * @default 30000
   */
  planLockWaitMs?: number;
  /**
   * Temp folders of interrupted session creations are removed once their creator is gone, or
   * once they are this old whoever made them.
   *
   * @default 3600000 (one hour)
   */
  tempMaxAgeMs?: number;
}

/** The name of the plan directory's creation lock. */
export const PLAN_LOCK_NAME = '.plan.lock';

/**
 * The lock file of a session folder: a sibling of the folder (`<planDir>/.<id>.lock`), so that it
 * can be taken before the folder is renamed into place and never travels with a renamed folder.
 */
export function sessionLockPath(sessionPath: string): string {
  const absolute = resolve(sessionPath);
  return join(dirname(absolute), `.${basename(absolute)}.lock`);
}

/**
 * Creates the default store: session folders under `planDir`.
 *
 * Layout: `<planDir>/<NNN>_<hash12>/` holding `tasks.json` (the snapshot), `tasks.journal` (one
 * framed record per flush since the snapshot), `prd_snapshot.md`, `parent_session.txt` (delta
 * sessions) and artifacts. The journal's format is described in the package README. A session is built complete in a temp folder
 * (`<planDir>/.tmp-<pid>-<random>/`, every file written atomically), then renamed into place while
 * `<planDir>/.plan.lock` is held, so two processes never pick the same sequence number and a crash
 * at any instant leaves either no session or a whole one. Temp folders left by crashed creators
 * are removed by the next creation.
 *
 * @param planDir - the folder holding the sessions; created on the first `create`
 * @param options - see {@link FileStoreOptions}
 *
 * @example
 * ```ts
 * const store = createFileStore('./plan');
 * const manager = new SessionManager({ prdPath: 'PRD.md', planDir: './plan', store });
 * ```
 */
export function createFileStore(planDir: string, options: FileStoreOptions = {}): SessionStore {
  if (typeof planDir !== 'string' || planDir === '') {
    throw new TypeError(`createFileStore expected a plan directory path, got ${show(planDir)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createFileStore expected an options object, got ${show(options)}`);
  }
  const planLockWaitMs = nonNegative(options.planLockWaitMs, 30_000, 'planLockWaitMs');
  const tempMaxAgeMs = nonNegative(options.tempMaxAgeMs, 3_600_000, 'tempMaxAgeMs');
  const root = resolve(planDir);
  return new FileStore(root, planLockWaitMs, tempMaxAgeMs);
}

class FileStore implements SessionStore {
  readonly location: string;
  readonly #planLockWaitMs: number;
  readonly #tempMaxAgeMs: number;

  constructor(location: string, planLockWaitMs: number, tempMaxAgeMs: number) {
    this.location = location;
    this.#planLockWaitMs = planLockWaitMs;
    this.#tempMaxAgeMs = tempMaxAgeMs;
  }

  async list(): Promise<SessionListing> {
    return listSessionFolders(this.location);
  }

  async create(draft: SessionDraft, options: StoreWaitOptions = {}): Promise<CreateSessionResult> {
    checkDraft(draft);
    const planDir = this.location;
    await mkdir(planDir, { recursive: true }).catch((error: unknown) => {
      throw ioError(error, planDir, `cannot create plan directory ${planDir}`);
    });
    const planLock = await lockOrThrow(join(planDir, PLAN_LOCK_NAME), {
      wait: this.#planLockWaitMs,
      signal: options.signal,
    });
    let tempDir: string | undefined;
    let sessionLock: Lock | undefined;
    try {
      // Everything below runs with the plan lock held, so the listing cannot change under us and
      // any temp folder we see belongs to a creator that is gone (or is very old).
      const entries = await readdir(planDir).catch((error: unknown) => {
        throw ioError(error, planDir, `cannot list plan directory ${planDir}`);
      });
      await sweepTempFolders(planDir, entries, this.#tempMaxAgeMs);
      // Lock files are written through temp files too; a creator killed mid-lock leaves one.
      await sweepTempFiles(planDir).catch(() => undefined);

      const { sessions } = await listSessionFolders(planDir, entries);
      const existing = sessions.filter((session) => session.hash === draft.hash).at(-1);
      if (existing) return { status: 'exists', session: existing };

      // Count every folder that looks like a session, complete or not, so a rename never lands
      // on an existing name (rename(2) would silently replace an empty folder).
      let sequence = 0;
      for (const entry of entries) {
        const name = parseSessionName(entry);
        if (name && name.sequence > sequence) sequence = name.sequence;
      }
      sequence += 1;
      const id = formatSessionName(sequence, draft.hash);
      const finalPath = join(planDir, id);

      tempDir = join(planDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      await mkdir(tempDir).catch((error: unknown) => {
        throw ioError(error, tempDir, `cannot create temp folder ${tempDir}`);
      });
      await writeOrThrow(join(tempDir, SESSION_FILES.prdSnapshot), draft.prdSnapshot);
      if (draft.parentSession !== null) {
        await writeOrThrow(join(tempDir, SESSION_FILES.parentSession), draft.parentSession);
      }
      const tasksBytes = Buffer.from(draft.tasksText, 'utf8');
      await writeOrThrow(join(tempDir, SESSION_FILES.tasks), tasksBytes);

      // Lock the session before it becomes visible, so no other process can open it first.
      sessionLock = await lockOrThrow(sessionLockPath(finalPath), {});
      await rename(tempDir, finalPath).catch((error: unknown) => {
        throw ioError(error, finalPath, `cannot move the new session into place at ${finalPath}`);
      });
      tempDir = undefined;
      await syncDirectory(planDir).catch((error: unknown) => {
        throw fromStoreError(error, planDir, `cannot sync plan directory ${planDir}`);
      });
      const createdAt = await createdAtOf(finalPath);
      const session: SessionSummary = {
        id,
        sequence,
        hash: draft.hash,
        path: finalPath,
        createdAt,
      };
      const handle = new FileSessionHandle(session, sessionLock);
      handle.adoptCreated(tasksBytes);
      return { status: 'created', session, handle };
    } catch (error) {
      if (sessionLock) await sessionLock.release().catch(() => undefined);
      throw error;
    } finally {
      if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
      await planLock.release().catch(() => undefined);
    }
  }

  async open(ref: SessionRef, options: StoreWaitOptions = {}): Promise<SessionHandle> {
    const folder = this.#resolve(ref, 'open');
    const name = parseSessionName(basename(folder))!;
    const info = await stat(folder).catch((error: unknown) => {
      throw missingOrIo(error, folder);
    });
    if (!info.isDirectory()) throw notASession(folder);
    const lock = await lockOrThrow(sessionLockPath(folder), { signal: options.signal });
    try {
      // Holding the lock, nobody else writes here: temp files of writers that died are garbage.
      await sweepTempFiles(folder).catch(() => undefined);
      await requireParts(folder);
      const prdInfo = await stat(join(folder, SESSION_FILES.prdSnapshot)).catch(
        (error: unknown) => {
          throw missingOrIo(error, folder);
        },
      );
      const summary: SessionSummary = { ...name, path: folder, createdAt: prdInfo.mtime };
      return new FileSessionHandle(summary, lock);
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw error;
    }
  }

  async read(ref: SessionRef): Promise<LoadedSession> {
    return readSessionFolder(this.#resolve(ref, 'read'));
  }

  #resolve(ref: SessionRef, operation: string): string {
    if (typeof ref !== 'string' || ref === '') {
      throw new TypeError(`${operation} expected a session id or folder path, got ${show(ref)}`);
    }
    const folder = parseSessionName(ref) ? join(this.location, ref) : resolve(ref);
    if (!parseSessionName(basename(folder))) throw notASession(folder);
    return folder;
  }
}

/**
 * An open session folder: the session lock, and the journal opened on the first append and kept
 * open until release.
 */
class FileSessionHandle implements SessionHandle {
  readonly summary: SessionSummary;
  readonly holder: SessionLockHolder;
  readonly signal: AbortSignal;
  readonly #lock: Lock;
  readonly #folder: string;
  readonly #tasksPath: string;
  readonly #journalPath: string;
  #journal: AppendFile | undefined;
  /** The snapshot on disk, as the base of the next journal. */
  #base: JournalBase | undefined;
  /** The journal bytes written through this handle since the last load or compaction. */
  #validBytes = 0;
  /** The length to cut the journal to before the next append (a torn tail or a stale journal). */
  #cutTo: number | undefined;
  /** Whether the journal on disk starts with the base of the current snapshot. */
  #hasBase = false;
  #lastSequence = 0;
  #loaded = false;
  #busy = 0;
  #released = false;

  constructor(summary: SessionSummary, lock: Lock) {
    this.summary = summary;
    this.holder = toHolder(lock.holder);
    this.signal = lock.signal;
    this.#lock = lock;
    this.#folder = summary.path;
    this.#tasksPath = join(summary.path, SESSION_FILES.tasks);
    this.#journalPath = join(summary.path, SESSION_FILES.journal);
  }

  /** @internal a freshly created session: snapshot known, no journal yet. */
  adoptCreated(tasksBytes: Buffer): void {
    this.#base = baseOf(tasksBytes, 0);
    this.#validBytes = 0;
    this.#cutTo = 0;
    this.#hasBase = false;
    this.#loaded = true;
  }

  async load(): Promise<LoadedSession> {
    this.#assertOpen('load');
    const loaded = await loadFolder(this.#folder, this.summary);
    this.#base = loaded.base;
    this.#lastSequence = loaded.session.snapshotSequence + loaded.session.changes.length;
    const { tail } = loaded.session;
    // Append after the last whole record of a current journal; a stale journal starts over.
    this.#hasBase = !loaded.stale && tail.validBytes > 0;
    this.#validBytes = this.#hasBase ? tail.validBytes : 0;
    this.#cutTo =
      loaded.journalSize === this.#validBytes && this.#hasBase ? undefined : this.#validBytes;
    this.#loaded = true;
    return loaded.session;
  }

  async append(batch: ChangeBatch): Promise<void> {
    const { bytes, undo } = this.#prepareAppend(batch, 'append');
    this.#busy += 1;
    try {
      this.#journal ??= await openAppendFile(this.#journalPath);
      if (this.#cutTo !== undefined) {
        await this.#journal.truncate(Math.min(this.#cutTo, this.#journal.size));
        this.#cutTo = undefined;
      }
      await this.#journal.append(bytes);
      this.#validBytes += bytes.byteLength;
    } catch (error) {
      undo();
      throw fromStoreError(error, this.#journalPath, `cannot append to ${this.#journalPath}`);
    } finally {
      this.#busy -= 1;
    }
  }

  appendSync(batch: ChangeBatch): void {
    const { bytes, undo } = this.#prepareAppend(batch, 'appendSync');
    try {
      this.#journal ??= openAppendFileSync(this.#journalPath);
      if (this.#cutTo !== undefined) {
        this.#journal.truncateSync(Math.min(this.#cutTo, this.#journal.size));
        this.#cutTo = undefined;
      }
      // Appends still running on the journal are finished first, in order.
      this.#journal.appendSync(bytes);
      this.#validBytes += bytes.byteLength;
    } catch (error) {
      undo();
      throw fromStoreError(error, this.#journalPath, `cannot append to ${this.#journalPath}`);
    }
  }

  async compact(snapshot: SnapshotInput): Promise<void> {
    const bytes = this.#prepareCompact(snapshot, 'compact');
    this.#busy += 1;
    try {
      await writeOrThrow(this.#tasksPath, bytes);
      // From here the snapshot holds every batch; the journal's base no longer matches it, so a
      // crash before the journal is replaced leaves a stale journal that loading ignores.
      this.#startJournal(bytes, snapshot.sequence);
      const previous = this.#journal;
      this.#journal = undefined;
      await previous?.close().catch(() => undefined);
      // A fresh journal holding only its base, put in place atomically: the snapshot's sequence
      // number survives, and there is never a moment without a valid journal.
      await writeOrThrow(this.#journalPath, encodeBase(this.#base!));
      this.#journalStarted();
    } catch (error) {
      throw fromStoreError(error, this.#tasksPath, `cannot compact ${this.#folder}`);
    } finally {
      this.#busy -= 1;
    }
  }

  compactSync(snapshot: SnapshotInput): void {
    const bytes = this.#prepareCompact(snapshot, 'compactSync');
    try {
      writeFileAtomicSync(this.#tasksPath, bytes);
    } catch (error) {
      throw fromStoreError(error, this.#tasksPath, `cannot compact ${this.#folder}`);
    }
    this.#startJournal(bytes, snapshot.sequence);
    // An asynchronous write may still be running on the journal's descriptor (a process exiting
    // in the middle of a flush): leave the journal alone then; its base no longer matches.
    if (this.#busy > 0) return;
    try {
      this.#journal?.closeSync();
      this.#journal = undefined;
      writeFileAtomicSync(this.#journalPath, encodeBase(this.#base!));
      this.#journalStarted();
    } catch {
      // The journal stays stale, which loading ignores; the snapshot is what counts.
    }
  }

  /** A new snapshot is in place: the journal on disk is stale until replaced. */
  #startJournal(bytes: Buffer, sequence: number): void {
    this.#base = baseOf(bytes, sequence);
    this.#lastSequence = sequence;
    this.#hasBase = false;
    this.#validBytes = 0;
    this.#cutTo = 0;
  }

  /** The journal on disk is the new snapshot's base alone. */
  #journalStarted(): void {
    this.#hasBase = true;
    this.#validBytes = encodeBase(this.#base!).byteLength;
    this.#cutTo = undefined;
  }

  async writeArtifact(name: string, text: string): Promise<string> {
    checkArtifact(name, text, 'writeArtifact');
    this.#assertWritable();
    const target = join(this.#folder, name);
    await writeOrThrow(target, text);
    return target;
  }

  async removeArtifact(name: string): Promise<void> {
    checkArtifact(name, '', 'removeArtifact');
    this.#assertWritable();
    const target = join(this.#folder, name);
    try {
      await rm(target, { force: true });
      await syncDirectory(this.#folder);
    } catch (error) {
      throw fromStoreError(error, target, `cannot remove ${target}`);
    }
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const journal = this.#journal;
    this.#journal = undefined;
    await journal?.close().catch(() => undefined);
    try {
      await this.#lock.release();
    } catch (error) {
      throw fromStoreError(error, this.#lock.path, `cannot release the lock of ${this.#folder}`);
    }
  }

  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    const journal = this.#journal;
    this.#journal = undefined;
    try {
      journal?.closeSync();
    } catch {
      // Closing a descriptor of a process about to exit: nothing left to save.
    }
    try {
      this.#lock.releaseSync();
    } catch (error) {
      throw fromStoreError(error, this.#lock.path, `cannot release the lock of ${this.#folder}`);
    }
  }

  /**
   * Checks a batch and claims its place synchronously (sequence number, base frame), so a
   * synchronous append made while an asynchronous one runs follows it; `undo` gives the place
   * back when the append fails.
   */
  #prepareAppend(batch: ChangeBatch, operation: string): { bytes: Buffer; undo: () => void } {
    // The status changes are checked as they are encoded: one pass over a batch of thousands.
    const problem = checkBatchHead(batch);
    const record = problem === undefined ? encodeBatch(batch, false) : undefined;
    if (record === undefined) {
      throw new TypeError(`${operation} expected ${problem ?? STATUS_CHANGES}, got ${show(batch)}`);
    }
    this.#assertWritable();
    if (!this.#loaded || this.#base === undefined) {
      throw new TypeError(`${operation} expected the session to be loaded first (call load())`);
    }
    if (batch.sequence !== this.#lastSequence + 1) {
      throw new TypeError(
        `${operation} expected batch ${this.#lastSequence + 1}, got batch ${batch.sequence}`,
      );
    }
    const withBase = !this.#hasBase;
    const bytes = withBase ? Buffer.concat([encodeBase(this.#base), record]) : record;
    const previous = this.#lastSequence;
    this.#lastSequence = batch.sequence;
    this.#hasBase = true;
    return {
      bytes,
      undo: () => {
        if (this.#lastSequence === batch.sequence) this.#lastSequence = previous;
        if (withBase && this.#lastSequence === previous) this.#hasBase = false;
      },
    };
  }

  #prepareCompact(snapshot: SnapshotInput, operation: string): Buffer {
    if (
      typeof snapshot !== 'object' ||
      snapshot === null ||
      typeof snapshot.text !== 'string' ||
      !Number.isSafeInteger(snapshot.sequence) ||
      snapshot.sequence < 0
    ) {
      throw new TypeError(
        `${operation} expected {text: string, sequence: non-negative integer}, got ${show(snapshot)}`,
      );
    }
    this.#assertWritable();
    if (snapshot.sequence < this.#lastSequence) {
      throw new TypeError(
        `${operation} expected a snapshot at batch ${this.#lastSequence} or later, got ${snapshot.sequence}`,
      );
    }
    return Buffer.from(snapshot.text, 'utf8');
  }

  #assertOpen(operation: string): void {
    if (this.#released) {
      throw new SessionError(
        'NO_SESSION',
        `${operation}: session ${this.summary.id} was released`,
        {
          id: this.summary.id,
          path: this.#folder,
        },
      );
    }
  }

  #assertWritable(): void {
    this.#assertOpen('write');
    if (this.signal.aborted) throw lockLost(this.summary, this.signal.reason);
  }
}

/**
 * Lists the session folders of `planDir`, ascending by sequence: complete ones (`tasks.json` and
 * `prd_snapshot.md` present) and incomplete ones (reported with the missing file). Missing
 * `planDir` lists nothing.
 *
 * @internal shared by the file store and the standalone lookups
 */
export async function listSessionFolders(
  planDir: string,
  entries?: readonly string[],
): Promise<SessionListing> {
  const root = resolve(planDir);
  let names = entries;
  if (!names) {
    try {
      names = await readdir(root);
    } catch (error) {
      if (errno(error) === 'ENOENT') return { sessions: [], incomplete: [] };
      throw ioError(error, root, `cannot list plan directory ${root}`);
    }
  }
  const candidates = names
    .map((entry) => parseSessionName(entry))
    .filter((name) => name !== undefined)
    .sort((a, b) => a.sequence - b.sequence || (a.id < b.id ? -1 : 1));
  const found = await Promise.all(
    candidates.map(async (name): Promise<SessionSummary | IncompleteSession | undefined> => {
      const folder = join(root, name.id);
      const info = await stat(folder).catch(() => undefined);
      // A file or a folder that vanished meanwhile is not a session.
      if (!info?.isDirectory()) return undefined;
      let missing: string | undefined;
      let createdAt: Date | undefined;
      for (const file of REQUIRED_FILES) {
        try {
          const fileInfo = await stat(join(folder, file));
          if (file === SESSION_FILES.prdSnapshot) createdAt = fileInfo.mtime;
        } catch (error) {
          const code = errno(error);
          if (code !== 'ENOENT' && code !== 'ENOTDIR') {
            throw ioError(error, folder, `cannot read session folder ${folder}`);
          }
          missing ??= file;
        }
      }
      if (missing) return { id: name.id, path: folder, missing };
      return { ...name, path: folder, createdAt: createdAt! };
    }),
  );
  const sessions: SessionSummary[] = [];
  const incomplete: IncompleteSession[] = [];
  for (const entry of found) {
    if (!entry) continue;
    if ('missing' in entry) incomplete.push(entry);
    else sessions.push(entry);
  }
  return { sessions, incomplete };
}

/**
 * Reads a session folder without its lock, journal applied. The folder name must be a session
 * name; the hash in it is taken as is, even when it differs from the hash of `prd_snapshot.md`.
 * A compaction by the holder between reading `tasks.json` and reading the journal is detected
 * (the snapshot changed) and the read is repeated.
 *
 * @internal shared by the file store and the standalone lookups
 */
export async function readSessionFolder(path: string): Promise<LoadedSession> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`expected a session folder path, got ${show(path)}`);
  }
  const folder = resolve(path);
  const name = parseSessionName(basename(folder));
  if (!name) throw notASession(folder);
  const info = await stat(folder).catch((error: unknown) => {
    throw missingOrIo(error, folder);
  });
  if (!info.isDirectory()) throw notASession(folder);
  await requireParts(folder);
  const prdInfo = await stat(join(folder, SESSION_FILES.prdSnapshot)).catch((error: unknown) => {
    throw missingOrIo(error, folder);
  });
  const summary: SessionSummary = { ...name, path: folder, createdAt: prdInfo.mtime };
  for (let attempt = 0; ; attempt++) {
    const before = await stat(join(folder, SESSION_FILES.tasks)).catch(() => undefined);
    const loaded = await loadFolder(folder, summary);
    const after = await stat(join(folder, SESSION_FILES.tasks)).catch(() => undefined);
    if ((before?.ino === after?.ino && before?.mtimeMs === after?.mtimeMs) || attempt >= 4) {
      return loaded.session;
    }
  }
}

const REQUIRED_FILES = [SESSION_FILES.tasks, SESSION_FILES.prdSnapshot] as const;

interface FolderContent {
  readonly session: LoadedSession;
  readonly base: JournalBase;
  readonly stale: boolean;
  readonly journalSize: number;
}

async function loadFolder(folder: string, summary: SessionSummary): Promise<FolderContent> {
  const tasksPath = join(folder, SESSION_FILES.tasks);
  const journalPath = join(folder, SESSION_FILES.journal);
  const [tasksBytes, prdSnapshot, parentText] = await Promise.all([
    readRequired(tasksPath, folder),
    readRequired(join(folder, SESSION_FILES.prdSnapshot), folder).then((bytes) =>
      bytes.toString('utf8'),
    ),
    readOptional(join(folder, SESSION_FILES.parentSession)),
  ]);
  // Read after the snapshot: a compaction writes the snapshot first, so this order never pairs a
  // new journal with an old snapshot.
  const journalBytes = await readOptionalBytes(journalPath);
  const journal = journalBytes
    ? decodeJournal(journalBytes, journalPath)
    : { base: undefined, batches: [], validBytes: 0, discardedBytes: 0 };
  const parent = parentText?.trim() ?? '';
  let snapshotSequence = 0;
  let changes: ChangeBatch[] = [];
  let stale = false;
  let base: JournalBase | undefined;
  if (journal.base) {
    if (matchesBase(journal.base, tasksBytes)) {
      snapshotSequence = journal.base.sequence;
      changes = journal.batches;
      // The journal's base was just checked against these bytes: no second checksum pass.
      base = journal.base;
    } else {
      // A compaction wrote this snapshot and stopped before emptying the journal: the snapshot
      // already holds every batch of it.
      stale = true;
      snapshotSequence = journal.base.sequence + journal.batches.length;
    }
  }
  return {
    session: {
      summary,
      prdSnapshot,
      parentSession: parent === '' ? null : parent,
      snapshotText: tasksBytes.toString('utf8'),
      snapshotSequence,
      changes,
      tail: { validBytes: journal.validBytes, discardedBytes: journal.discardedBytes },
    },
    base: base ?? baseOf(tasksBytes, snapshotSequence),
    stale,
    journalSize: journalBytes?.byteLength ?? 0,
  };
}

async function requireParts(folder: string): Promise<void> {
  for (const file of REQUIRED_FILES) {
    try {
      await stat(join(folder, file));
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw incomplete(folder, file, error);
      throw ioError(error, folder, `cannot read session folder ${folder}`);
    }
  }
}

function incomplete(folder: string, file: string, cause?: unknown): SessionError {
  return new SessionError(
    'INCOMPLETE_SESSION',
    `session folder ${folder} is incomplete: ${file} is missing`,
    { path: folder, id: basename(folder), ...(cause !== undefined ? { cause } : {}) },
  );
}

function checkArtifact(name: string, text: string, operation: string): void {
  if (!isArtifactName(name)) {
    throw new TypeError(
      `${operation} expected a plain file name other than the session's own files, got ${show(name)}`,
    );
  }
  if (typeof text !== 'string') {
    throw new TypeError(`${operation} expected text to be a string, got ${show(text)}`);
  }
}

async function sweepTempFolders(
  planDir: string,
  entries: readonly string[],
  maxAgeMs: number,
): Promise<void> {
  const now = Date.now();
  for (const entry of entries) {
    const match = /^\.tmp-(\d+)-[0-9a-f]+$/.exec(entry);
    if (match) {
      const pid = Number(match[1]);
      const folder = join(planDir, entry);
      let stale = pid !== process.pid && !isAlive(pid);
      if (!stale) {
        const info = await stat(folder).catch(() => undefined);
        stale = info !== undefined && now - info.mtimeMs > maxAgeMs;
      }
      if (stale) await rm(folder, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    // A session lock whose session never appeared belongs to a creation that crashed after
    // locking and before the rename; drop it once its holder is gone.
    const lockMatch = /^\.(\d{3,}_[0-9a-f]{12})\.lock$/.exec(entry);
    if (lockMatch && !entries.includes(lockMatch[1]!)) {
      const lockPath = join(planDir, entry);
      const holder = await readLockHolder(lockPath).catch(() => undefined);
      if (holder && holder.hostname === hostname() && !isAlive(holder.pid)) {
        await rm(lockPath, { force: true }).catch(() => undefined);
      }
    }
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

async function lockOrThrow(
  path: string,
  options: { wait?: number; signal?: AbortSignal | undefined },
): Promise<Lock> {
  try {
    return await acquireLock(path, {
      ...(options.wait !== undefined ? { wait: options.wait } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw fromStoreError(error, path, `cannot lock ${path}`);
  }
}

async function writeOrThrow(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw fromStoreError(error, path, `cannot write ${path}`);
  }
}

async function readRequired(path: string, folder: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw incomplete(folder, basename(path), error);
    throw ioError(error, path, `cannot read ${path}`);
  }
}

async function readOptionalBytes(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw ioError(error, path, `cannot read ${path}`);
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw ioError(error, path, `cannot read ${path}`);
  }
}

async function createdAtOf(folder: string): Promise<Date> {
  const info = await stat(join(folder, SESSION_FILES.prdSnapshot)).catch(() => undefined);
  return info?.mtime ?? new Date();
}

function notASession(folder: string): SessionError {
  return new SessionError(
    'NOT_FOUND',
    `${folder} is not a session folder (expected a folder named like 001_0123456789ab)`,
    { path: folder },
  );
}

function missingOrIo(error: unknown, path: string): SessionError {
  const code = errno(error);
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SessionError('NOT_FOUND', `${path} does not exist`, { path, cause: error });
  }
  return ioError(error, path, `cannot read ${path}`);
}

function ioError(error: unknown, path: string | undefined, message: string): SessionError {
  if (error instanceof SessionError) return error;
  const detail = error instanceof Error ? `: ${error.message}` : '';
  return new SessionError('IO', `${message}${detail}`, {
    ...(path ? { path } : {}),
    cause: error,
  });
}

function fromStoreError(error: unknown, path: string, message: string): SessionError {
  if (error instanceof SessionError) return error;
  if (error instanceof StoreError) {
    if (error.code === 'LOCKED') {
      const holder = error.holder ? toHolder(error.holder) : undefined;
      const who = holder
        ? `pid ${holder.pid}${holder.hostname ? ` on ${holder.hostname}` : ''}`
        : 'another process';
      return new SessionError('LOCKED', `${path} is held by ${who}`, {
        path,
        ...(holder ? { holder } : {}),
        cause: error,
      });
    }
    if (error.code === 'ABORTED') {
      return new SessionError('ABORTED', `${message}: aborted`, { path, cause: error });
    }
    if (error.code === 'NOT_FOUND') {
      return new SessionError('NOT_FOUND', `${message}: ${error.message}`, { path, cause: error });
    }
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new SessionError('ABORTED', `${message}: aborted`, { path, cause: error });
  }
  return ioError(error, path, message);
}

function toHolder(holder: {
  pid: number;
  hostname?: string;
  startedAt?: string | number;
}): SessionLockHolder {
  return {
    pid: holder.pid,
    ...(holder.hostname !== undefined ? { hostname: holder.hostname } : {}),
    ...(holder.startedAt !== undefined ? { startedAt: holder.startedAt } : {}),
  };
}

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

function nonNegative(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `createFileStore expected ${name} to be a non-negative number, got ${show(value)}`,
    );
  }
  return value;
}
