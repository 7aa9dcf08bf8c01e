import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  acquireLock,
  type Lock,
  readLockHolder,
  StoreError,
  sweepTempFiles,
  syncDirectory,
  writeFileAtomic,
  writeFileAtomicSync,
} from '@savepoint/atomic-store';
import { SessionError, type SessionLockHolder } from './errors.ts';
import { isArtifactName, parseSessionName, SESSION_FILES } from './layout.ts';
import type {
  CreateSessionResult,
  SessionDraft,
  SessionLock,
  SessionStore,
  SessionSummary,
  StoredSession,
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
 * Layout: `<planDir>/<NNN>_<hash12>/` holding `tasks.json`, `prd_snapshot.md`,
 * `parent_session.txt` (delta sessions) and artifacts. A session is built complete in a temp folder
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

  async list(): Promise<SessionSummary[]> {
    return listSessionFolders(this.location);
  }

  async create(draft: SessionDraft, options: StoreWaitOptions = {}): Promise<CreateSessionResult> {
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

      const complete = await listSessionFolders(planDir, entries);
      const existing = complete.filter((session) => session.hash === draft.hash).at(-1);
      if (existing) return { status: 'exists', session: existing };

      // Count every folder that looks like a session, complete or not, so a rename never lands
      // on an existing name (rename(2) would silently replace an empty folder).
      let sequence = 0;
      for (const entry of entries) {
        const name = parseSessionName(entry);
        if (name && name.sequence > sequence) sequence = name.sequence;
      }
      sequence += 1;
      const id = `${String(sequence).padStart(3, '0')}_${draft.hash}`;
      const finalPath = join(planDir, id);

      tempDir = join(planDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      await mkdir(tempDir).catch((error: unknown) => {
        throw ioError(error, tempDir, `cannot create temp folder ${tempDir}`);
      });
      await writeOrThrow(join(tempDir, SESSION_FILES.prdSnapshot), draft.prdSnapshot);
      if (draft.parentSession !== null) {
        await writeOrThrow(join(tempDir, SESSION_FILES.parentSession), draft.parentSession);
      }
      await writeOrThrow(join(tempDir, SESSION_FILES.tasks), draft.tasksText);

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
      return { status: 'created', session, lock: wrapLock(sessionLock, finalPath) };
    } catch (error) {
      if (sessionLock) await sessionLock.release().catch(() => undefined);
      throw error;
    } finally {
      if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
      await planLock.release().catch(() => undefined);
    }
  }

  async read(path: string): Promise<StoredSession> {
    return readSessionFolder(path);
  }

  async lock(path: string, options: StoreWaitOptions = {}): Promise<SessionLock> {
    const folder = resolve(path);
    // Never drop a lock file beside something that is not a session folder.
    if (!parseSessionName(basename(folder))) throw notASession(folder);
    const info = await stat(folder).catch((error: unknown) => {
      throw missingOrIo(error, folder);
    });
    if (!info.isDirectory()) throw notASession(folder);
    const lock = await lockOrThrow(sessionLockPath(folder), { signal: options.signal });
    // Holding the lock, nobody else writes here: temp files of writers that died are garbage.
    await sweepTempFiles(folder).catch(() => undefined);
    return wrapLock(lock, folder);
  }

  async save(path: string, tasksText: string): Promise<void> {
    await writeOrThrow(join(resolve(path), SESSION_FILES.tasks), tasksText);
  }

  saveSync(path: string, tasksText: string): void {
    const target = join(resolve(path), SESSION_FILES.tasks);
    try {
      writeFileAtomicSync(target, tasksText);
    } catch (error) {
      throw fromStoreError(error, target, `cannot write ${target}`);
    }
  }

  async writeArtifact(path: string, name: string, text: string): Promise<string> {
    if (!isArtifactName(name)) {
      throw new TypeError(
        `writeArtifact expected a plain file name other than the session's own files, got ${show(name)}`,
      );
    }
    const target = join(resolve(path), name);
    await writeOrThrow(target, text);
    return target;
  }
}

/**
 * Lists the complete session folders of `planDir` (both `tasks.json` and `prd_snapshot.md`
 * present), ascending by sequence. Missing `planDir` lists nothing.
 *
 * @internal shared by the file store and the standalone lookups
 */
export async function listSessionFolders(
  planDir: string,
  entries?: readonly string[],
): Promise<SessionSummary[]> {
  const root = resolve(planDir);
  let names = entries;
  if (!names) {
    try {
      names = await readdir(root);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw ioError(error, root, `cannot list plan directory ${root}`);
    }
  }
  const candidates = names
    .map((entry) => parseSessionName(entry))
    .filter((name) => name !== undefined)
    .sort((a, b) => a.sequence - b.sequence || (a.id < b.id ? -1 : 1));
  const summaries = await Promise.all(
    candidates.map(async (name): Promise<SessionSummary | undefined> => {
      const folder = join(root, name.id);
      try {
        const [, snapshot] = await Promise.all([
          stat(join(folder, SESSION_FILES.tasks)),
          stat(join(folder, SESSION_FILES.prdSnapshot)),
        ]);
        return { ...name, path: folder, createdAt: snapshot.mtime };
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw ioError(error, folder, `cannot read session folder ${folder}`);
      }
    }),
  );
  return summaries.filter((summary) => summary !== undefined);
}

/**
 * Reads a session folder. The folder name must be a session name; the hash in it is taken as is,
 * even when it differs from the hash of `prd_snapshot.md`.
 *
 * @internal shared by the file store and the standalone lookups
 */
export async function readSessionFolder(path: string): Promise<StoredSession> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`expected a session folder path, got ${show(path)}`);
  }
  const folder = resolve(path);
  const name = parseSessionName(basename(folder));
  if (!name) throw notASession(folder);
  const tasksPath = join(folder, SESSION_FILES.tasks);
  const prdPath = join(folder, SESSION_FILES.prdSnapshot);
  const [tasksText, prdSnapshot, parentText, snapshotStat] = await Promise.all([
    readRequired(tasksPath),
    readRequired(prdPath),
    readOptional(join(folder, SESSION_FILES.parentSession)),
    stat(prdPath).catch((error: unknown) => {
      throw missingOrIo(error, prdPath);
    }),
  ]);
  const parent = parentText?.trim() ?? '';
  return {
    summary: { ...name, path: folder, createdAt: snapshotStat.mtime },
    prdSnapshot,
    tasksText,
    parentSession: parent === '' ? null : parent,
  };
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

function wrapLock(lock: Lock, sessionPath: string): SessionLock {
  return {
    holder: toHolder(lock.holder),
    signal: lock.signal,
    release: async () => {
      try {
        await lock.release();
      } catch (error) {
        throw fromStoreError(error, lock.path, `cannot release the lock of ${sessionPath}`);
      }
    },
    releaseSync: () => {
      try {
        lock.releaseSync();
      } catch (error) {
        throw fromStoreError(error, lock.path, `cannot release the lock of ${sessionPath}`);
      }
    },
  };
}

async function writeOrThrow(path: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, data);
  } catch (error) {
    throw fromStoreError(error, path, `cannot write ${path}`);
  }
}

async function readRequired(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw missingOrIo(error, path);
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

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : String(value);
}
