import { createHash, randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { describeValue, errnoOf, StoreError, toStoreError } from './errors.ts';
import { fsx, O_CREAT, O_EXCL, O_RDONLY, O_WRONLY } from './internal/fs.ts';
import {
  bootTimeMs,
  isProcessAlive,
  MAX_TIMER_MS,
  processStartMs,
  processStartTicks,
  sleep,
} from './internal/process.ts';
import { unlinkQuietly } from './internal/protocol.ts';
import { io, runAsync, runSync, type Steps } from './internal/run.ts';
import { hostIdentity, tempName, truncateBytes } from './internal/temp-name.ts';

/** Who holds a lock: the content of the lock file. */
export interface LockHolder {
  /** Process id of the holder, on `hostname`. */
  readonly pid: number;
  /** Host name of the holder's machine (`os.hostname()`). */
  readonly hostname: string;
  /** When the lock was taken, as an ISO 8601 timestamp. */
  readonly startedAt: string;
  /** Random identity of this holding, distinct for every acquisition. */
  readonly token: string;
  /**
   * The holder's start time in clock ticks since boot (Linux): with `pid`, it tells the holder
   * from a later process that got the same pid. Absent where unknown (and in older lock files).
   */
  readonly startTicks?: number;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /**
   * A lock whose file has not been touched for this long is stale and may be taken over, even
   * if its holder still runs. A held lock is touched every `staleMs / 3` (see `refresh`), and at
   * least once every 24.8 days (the longest a Node timer holds); `Infinity`: never stale.
   * @default 30000
   */
  staleMs?: number;
  /**
   * `false`: fail with `LOCKED` at once if the lock is held; `true`: keep trying until it is
   * free or `signal` aborts; a number: keep trying for that many milliseconds.
   * @default false
   */
  wait?: boolean | number;
  /**
   * Pause between attempts while waiting (a random jitter of up to half is added).
   * @default 100
   */
  retryIntervalMs?: number;
  /** Stops waiting; the call then fails with `ABORTED`. */
  signal?: AbortSignal;
  /**
   * Touch the lock file's modification time every `staleMs / 3` while held, so a long holding is
   * not mistaken for a stale one. The timer is unref'd and never throws.
   * @default true
   */
  refresh?: boolean;
  /**
   * Called (at most once, from the refresh timer) if the lock is found removed or taken over
   * while held. Exceptions thrown by the callback are ignored. `Lock.signal` aborts at the same
   * moment.
   */
  onCompromised?: (error: StoreError) => void;
}

/** A held lock, returned by {@link acquireLock}. */
export interface Lock {
  /** The lock file's absolute path. */
  readonly path: string;
  /** What was written into the lock file. */
  readonly holder: LockHolder;
  /** Aborts, with a `LOCK_LOST` error as reason, if the lock is found lost while held. */
  readonly signal: AbortSignal;
  /** Removes the lock file if it is still this holding's. Idempotent. */
  release(): Promise<void>;
  /** The synchronous twin of `release`, for exit handlers. Idempotent. */
  releaseSync(): void;
}

/**
 * Takes a cross-process lock by creating the lock file `path` exclusively, with the holder's pid,
 * host name, start time and a random token in it (written to a temp file first and hard-linked
 * into place, so a reader never sees a half-written lock).
 *
 * A held lock is stale when its holder's pid is not running on this host (on Linux: or is a
 * zombie, or belongs to a process started after the lock was taken), when it dates from before
 * this machine booted, or when its file is older than `staleMs`. A stale lock is taken
 * over so that exactly one contender wins, however many race: a contender first creates a
 * takeover guard named after that lock's token (exclusive create, so one guard holder per stale
 * lock), re-reads the lock to check it is still the same stale one, and only then replaces it.
 *
 * The remaining edge cases: (1) a holder that is alive but has not refreshed for `staleMs` (a
 * frozen process, a clock jump) and releases at the very instant a takeover removes its file,
 * while a third process creates a fresh lock in that instant, can see the taker remove the
 * fresh lock; (2) a taker that freezes for more than 10 s inside its takeover (between a few
 * consecutive file calls) has its guard treated as abandoned. Both need a stall of seconds at a
 * precise point; a lost lock is then reported through `onCompromised` and `Lock.signal`.
 * Host names must differ between machines sharing the folder, and their clocks should agree
 * within `staleMs`.
 *
 * @example
 * ```ts
 * const lock = await acquireLock('plan/.savepoint.lock', { wait: 5_000 });
 * try {
 *   await runPipeline();
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Lock> {
  const settings = readLockOptions(path, options);
  const lockPath = resolve(path);
  const { name: host } = hostIdentity();
  const holder: LockHolder = {
    pid: process.pid,
    hostname: host,
    startedAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
    ...ownStartTicks(),
  };
  const content = `${JSON.stringify(holder)}\n`;
  const { wait, signal, staleMs } = settings;
  const deadline =
    wait === true ? Number.POSITIVE_INFINITY : Date.now() + (wait === false ? 0 : wait);
  let busySince: number | undefined;
  let quickRetries = 0;

  for (;;) {
    if (signal?.aborted) throw abortedLock(lockPath, signal);
    if (await runAsync(createLockSteps(lockPath, content))) {
      return new HeldLock(lockPath, holder, settings);
    }
    const snapshot = await runAsync(inspectSteps(lockPath, 'lock'));
    let busy = false;
    if (snapshot === undefined) {
      // Released between our attempt and the look: try again straight away, a few times.
      if (quickRetries++ < 20) continue;
    } else if (isStale(snapshot, staleMs)) {
      const outcome = await takeOver(lockPath, snapshot, content, staleMs);
      if (outcome === 'won') return new HeldLock(lockPath, holder, settings);
      if (outcome === 'retry' && quickRetries++ < 20) continue;
      busy = outcome === 'busy';
    }
    const now = Date.now();
    // A takeover in progress decides within moments; wait for its outcome even when not asked
    // to wait, rather than report a lock that may turn out free.
    busySince = busy ? (busySince ?? now) : undefined;
    const deciding = busySince !== undefined && now - busySince < TAKEOVER_GRACE_MS;
    if (now >= deadline && !deciding) {
      throw lockedError(lockPath, snapshot?.holder);
    }
    try {
      const pause = settings.retryIntervalMs * (1 + Math.random() / 2);
      await sleep(
        deciding ? Math.min(pause, 10) : Math.min(pause, Math.max(1, deadline - now)),
        signal,
      );
    } catch {
      throw abortedLock(lockPath, signal!);
    }
    quickRetries = 0;
  }
}

/**
 * Reads who holds the lock at `path`, or `undefined` when nobody does. A lock file that cannot
 * be parsed fails with `INVALID_JSON`.
 */
export async function readLockHolder(path: string): Promise<LockHolder | undefined> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `readLockHolder: expected a non-empty path string, got ${describeValue(path)}`,
    );
  }
  const snapshot = await runAsync(inspectSteps(resolve(path), 'read'));
  if (snapshot === undefined) return undefined;
  if (snapshot.holder === undefined) {
    throw new StoreError('INVALID_JSON', `Lock file ${path} does not hold a valid lock holder`, {
      path,
      step: 'parse',
    });
  }
  return snapshot.holder;
}

interface LockSettings {
  staleMs: number;
  wait: boolean | number;
  retryIntervalMs: number;
  signal: AbortSignal | undefined;
  refresh: boolean;
  onCompromised: ((error: StoreError) => void) | undefined;
}

class HeldLock implements Lock {
  readonly path: string;
  readonly holder: LockHolder;
  readonly #controller = new AbortController();
  readonly #onCompromised: ((error: StoreError) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #released = false;
  #releasing: Promise<void> | undefined;
  #refreshing = false;

  constructor(path: string, holder: LockHolder, settings: LockSettings) {
    this.path = path;
    this.holder = holder;
    this.#onCompromised = settings.onCompromised;
    if (settings.refresh) {
      // No longer than a timer holds: setInterval with more (staleMs: Infinity too) fires every
      // millisecond.
      const every = Math.min(MAX_TIMER_MS, Math.max(10, settings.staleMs / 3));
      this.#timer = setInterval(() => void this.#refresh(), every);
      this.#timer.unref();
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  release(): Promise<void> {
    if (this.#released) return Promise.resolve();
    this.#stopRefresh();
    this.#releasing ??= runAsync(releaseSteps(this.path, this.holder.token)).then(
      () => {
        this.#released = true;
      },
      (error: unknown) => {
        this.#releasing = undefined;
        throw toStoreError(error, 'unlock', this.path);
      },
    );
    return this.#releasing;
  }

  releaseSync(): void {
    if (this.#released) return;
    this.#stopRefresh();
    try {
      runSync(releaseSteps(this.path, this.holder.token));
    } catch (error) {
      throw toStoreError(error, 'unlock', this.path);
    }
    this.#released = true;
  }

  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#timer === undefined) return;
    this.#refreshing = true;
    try {
      const snapshot = await runAsync(inspectSteps(this.path, 'lock'));
      if (this.#timer === undefined) return;
      if (snapshot?.holder?.token !== this.holder.token) {
        this.#lost(snapshot?.holder);
        return;
      }
      const now = new Date();
      await fsx.utimes(this.path, now, now);
    } catch {
      // A failed refresh is retried on the next tick; the lock only goes stale after staleMs.
    } finally {
      this.#refreshing = false;
    }
  }

  #lost(current: LockHolder | undefined): void {
    this.#stopRefresh();
    const by = current === undefined ? 'removed' : `taken over by ${describeHolder(current)}`;
    const error = new StoreError('LOCK_LOST', `Lock ${this.path} was ${by}`, {
      path: this.path,
      step: 'lock',
      ...(current === undefined ? {} : { holder: current }),
    });
    this.#controller.abort(error);
    try {
      this.#onCompromised?.(error);
    } catch {
      // Never throw from a timer.
    }
  }

  #stopRefresh(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

interface Snapshot {
  ino: number;
  mtimeMs: number;
  holder: LockHolder | undefined;
}

/** Reads a lock (or guard) file through one descriptor, so identity and content agree. */
function* inspectSteps(path: string, step: 'lock' | 'read'): Steps<Snapshot | undefined> {
  let fd: number;
  try {
    fd = yield* io('open', path, O_RDONLY, 0);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw toStoreError(error, step, path);
  }
  try {
    const stats = yield* io('fstat', fd);
    const buffer = Buffer.alloc(Math.min(Math.max(stats.size, 0), 64 * 1024));
    let length = 0;
    while (length < buffer.length) {
      const read = yield* io('read', fd, buffer, length, buffer.length - length, length);
      if (read <= 0) break;
      length += read;
    }
    return {
      ino: stats.ino,
      mtimeMs: stats.mtimeMs,
      holder: parseHolder(buffer.subarray(0, length).toString('utf8')),
    };
  } catch (error) {
    throw toStoreError(error, step, path);
  } finally {
    try {
      yield* io('close', fd);
    } catch {
      // Read-only descriptor: nothing was lost.
    }
  }
}

/** Creates `path` with `content`, atomically and exclusively; `false` if it already exists. */
function* createLockSteps(path: string, content: string): Steps<boolean> {
  const data = Buffer.from(content);
  if (!linksUnsupported) {
    const temp = join(dirname(path), tempName(basename(path)));
    yield* writeExclusive(temp, data);
    try {
      yield* io('link', temp, path);
      return true;
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'EEXIST') return false;
      if (errno === undefined || !NO_HARD_LINKS.has(errno)) throw toStoreError(error, 'lock', path);
      linksUnsupported = true;
    } finally {
      yield* unlinkQuietly(temp);
    }
  }
  // Without hard links the file is created and then filled, so a reader may briefly see it
  // empty: such a lock counts as held until it is older than staleMs.
  try {
    yield* writeExclusive(path, data);
    return true;
  } catch (error) {
    if (error instanceof StoreError && errnoOf(error.cause) === 'EEXIST') return false;
    throw error;
  }
}

function* writeExclusive(path: string, data: Buffer): Steps<void> {
  let fd: number;
  try {
    fd = yield* io('open', path, O_WRONLY | O_CREAT | O_EXCL, 0o644);
  } catch (error) {
    throw toStoreError(error, 'lock', path);
  }
  try {
    for (let offset = 0; offset < data.length; ) {
      const written = yield* io('write', fd, data, offset, data.length - offset, offset);
      if (!(written > 0)) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      offset += written;
    }
  } catch (error) {
    yield* io('close', fd);
    yield* unlinkQuietly(path);
    throw toStoreError(error, 'lock', path);
  }
  yield* io('close', fd);
}

function* releaseSteps(path: string, token: string): Steps<void> {
  const snapshot = yield* inspectSteps(path, 'lock');
  // Taken over meanwhile: the file is someone else's now and must stay.
  if (snapshot?.holder?.token !== token) return;
  try {
    yield* io('unlink', path);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw error;
  }
}

/**
 * Replaces a stale lock so that exactly one contender succeeds. Guards are named after the stale
 * lock's identity and a generation: creating one is exclusive, and an abandoned guard is never
 * removed by a contender (which could race with its replacement) but skipped for the next
 * generation's name.
 */
async function takeOver(
  path: string,
  stale: Snapshot,
  content: string,
  staleMs: number,
): Promise<'won' | 'retry' | 'busy'> {
  const identity = identityOf(stale);
  const guardData = `${JSON.stringify({ pid: process.pid, hostname: hostIdentity().name, startedAt: new Date().toISOString(), token: 'takeover', ...ownStartTicks() })}\n`;
  for (let generation = 0; generation < MAX_GUARD_GENERATIONS; generation++) {
    const guard = guardPath(path, identity, generation);
    // Written whole and then linked into place, as the lock itself: a taker killed at any point
    // leaves either no guard or one that names it, never an empty one that nobody can judge.
    if (!(await runAsync(createLockSteps(guard, guardData)))) {
      const other = await runAsync(inspectSteps(guard, 'lock'));
      // The guard is gone: its owner finished the takeover of this very lock.
      if (other === undefined) return 'retry';
      if (isGuardAbandoned(other)) continue;
      return 'busy';
    }
    try {
      const current = await runAsync(inspectSteps(path, 'lock'));
      if (
        current === undefined ||
        current.ino !== stale.ino ||
        identityOf(current) !== identity ||
        !isStale(current, staleMs)
      ) {
        return 'retry';
      }
      try {
        await fsx.unlink(path);
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return 'retry';
        throw toStoreError(error, 'lock', path);
      }
      return (await runAsync(createLockSteps(path, content))) ? 'won' : 'retry';
    } finally {
      for (let g = generation; g >= 0; g--) {
        await runAsync(unlinkQuietly(guardPath(path, identity, g)));
      }
    }
  }
  return 'busy';
}

function isStale(snapshot: Snapshot, staleMs: number): boolean {
  if (Date.now() - snapshot.mtimeMs > staleMs) return true;
  const holder = snapshot.holder;
  if (holder === undefined || holder.hostname !== hostIdentity().name) return false;
  const started = Date.parse(holder.startedAt);
  // Taken before this machine last booted: its pid may now belong to someone else.
  if (Number.isFinite(started) && started < bootTimeMs() - BOOT_SLACK_MS) return true;
  if (holder.pid !== process.pid && !isProcessAlive(holder.pid)) return true;
  // The holder named its own start: any other start means another process has that pid now.
  if (holder.startTicks !== undefined) {
    const ticks = processStartTicks(holder.pid);
    if (ticks !== undefined) return ticks !== holder.startTicks;
  }
  // The process with that pid started after the lock was taken: the pid was reused.
  const processStarted = processStartMs(holder.pid);
  return (
    Number.isFinite(started) &&
    processStarted !== undefined &&
    processStarted > started + PID_REUSE_SLACK_MS
  );
}

function isGuardAbandoned(guard: Snapshot): boolean {
  if (Date.now() - guard.mtimeMs > GUARD_ABANDONED_MS) return true;
  const owner = guard.holder;
  // Guards appear whole where hard links work: one that names nobody (an empty file left by a
  // taker killed between creating and filling it, as earlier versions wrote guards) is nobody's.
  if (owner === undefined) return !linksUnsupported;
  return (
    owner.hostname === hostIdentity().name &&
    owner.pid !== process.pid &&
    (!isProcessAlive(owner.pid) || !sameProcess(owner))
  );
}

/** Whether the process with the holder's pid is the holder (its start ticks agree, where known). */
function sameProcess(holder: LockHolder): boolean {
  if (holder.startTicks === undefined) return true;
  const ticks = processStartTicks(holder.pid);
  return ticks === undefined || ticks === holder.startTicks;
}

function identityOf(snapshot: Snapshot): string {
  return snapshot.holder?.token ?? `inode-${snapshot.ino}-${snapshot.mtimeMs}`;
}

function guardPath(path: string, identity: string, generation: number): string {
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const base = truncateBytes(basename(path), 200);
  return join(dirname(path), `.${base}.takeover-${digest}-${generation}`);
}

function parseHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, hostname, startedAt, token, startTicks } = value as Record<string, unknown>;
  if (
    typeof pid !== 'number' ||
    !Number.isInteger(pid) ||
    typeof hostname !== 'string' ||
    typeof startedAt !== 'string' ||
    typeof token !== 'string'
  ) {
    return undefined;
  }
  return {
    pid,
    hostname,
    startedAt,
    token,
    ...(typeof startTicks === 'number' && Number.isSafeInteger(startTicks) ? { startTicks } : {}),
  };
}

/** This process's start in clock ticks, as a holder field; nothing where it is not known. */
function ownStartTicks(): { startTicks?: number } {
  const ticks = processStartTicks(process.pid);
  return ticks === undefined ? {} : { startTicks: ticks };
}

function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt})`;
}

function lockedError(path: string, holder: LockHolder | undefined): StoreError {
  const by = holder === undefined ? 'an unknown holder' : describeHolder(holder);
  return new StoreError('LOCKED', `Lock ${path} is held by ${by}`, {
    path,
    step: 'lock',
    ...(holder === undefined ? {} : { holder }),
  });
}

function abortedLock(path: string, signal: AbortSignal): StoreError {
  return new StoreError('ABORTED', `Waiting for lock ${path} was aborted`, {
    path,
    step: 'lock',
    cause: signal.reason,
  });
}

function readLockOptions(path: unknown, options: LockOptions): LockSettings {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(
      `acquireLock: expected a non-empty path string, got ${describeValue(path)}`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`acquireLock: expected an options object, got ${describeValue(options)}`);
  }
  const {
    staleMs = 30_000,
    wait = false,
    retryIntervalMs = 100,
    signal,
    refresh = true,
    onCompromised,
  } = options;
  if (typeof staleMs !== 'number' || !(staleMs > 0)) {
    throw new TypeError(
      `acquireLock: expected options.staleMs as a positive number, got ${describeValue(staleMs)}`,
    );
  }
  if (typeof wait !== 'boolean' && !(typeof wait === 'number' && wait >= 0)) {
    throw new TypeError(
      `acquireLock: expected options.wait as a boolean or a non-negative number, got ${describeValue(wait)}`,
    );
  }
  if (typeof retryIntervalMs !== 'number' || !(retryIntervalMs > 0)) {
    throw new TypeError(
      `acquireLock: expected options.retryIntervalMs as a positive number, got ${describeValue(retryIntervalMs)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `acquireLock: expected options.signal as an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  if (typeof refresh !== 'boolean') {
    throw new TypeError(
      `acquireLock: expected options.refresh as a boolean, got ${describeValue(refresh)}`,
    );
  }
  if (onCompromised !== undefined && typeof onCompromised !== 'function') {
    throw new TypeError(
      `acquireLock: expected options.onCompromised as a function, got ${describeValue(onCompromised)}`,
    );
  }
  return { staleMs, wait, retryIntervalMs, signal, refresh, onCompromised };
}

let linksUnsupported = false;

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);
const MAX_GUARD_GENERATIONS = 8;
const GUARD_ABANDONED_MS = 10_000;
const TAKEOVER_GRACE_MS = 2_000;
const BOOT_SLACK_MS = 60_000;
const PID_REUSE_SLACK_MS = 2_500;
