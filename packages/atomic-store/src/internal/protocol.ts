import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { abortError, errnoOf, StoreError, type StoreStep, toStoreError } from '../errors.ts';
import { O_CREAT, O_DIRECTORY, O_EXCL, O_RDONLY, O_WRONLY } from './fs.ts';
import { backoffMs } from './process.ts';
import { io, ioNow, pause, type Steps } from './run.ts';
import { tempName } from './temp-name.ts';

/** How much a write waits for the disk. See `WriteOptions.durability`. */
export type Durability = 'none' | 'file' | 'full';

/** Runs just before the rename, with the real file path and whether it exists. */
export type BeforeRename = (file: string, exists: boolean, durability: Durability) => Steps<void>;

/** Everything one durable write needs. */
export interface WriteJob {
  /** The path as the caller gave it, for errors. */
  readonly target: string;
  /** The absolute form of `target`. */
  readonly absolute: string;
  /** The content; a string is encoded with `encoding`. */
  readonly data: string | Uint8Array;
  readonly encoding: BufferEncoding;
  /** Mode of a new file. */
  readonly mode: number;
  readonly durability: Durability;
  readonly retries: number;
  /** The signal that aborted the write, once it has. */
  aborted(): AbortSignal | undefined;
  /** Whether a newer synchronous write to the same path has landed since this one began. */
  superseded(): boolean;
  readonly beforeRename: BeforeRename | undefined;
}

/**
 * The durable write: temp file created exclusively beside the real target, every byte written,
 * mode (and, as root, owner) kept, fsync, rename, folder fsync. Transient errors restart the whole
 * attempt with a fresh temp name, a bounded number of times.
 */
export function* writeProtocol(job: WriteJob): Steps<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      yield* attemptWrite(job);
      return;
    } catch (error) {
      const storeError = toStoreError(error, 'write', job.target);
      if (attempt >= job.retries || !isTransient(storeError)) throw storeError;
      // The pause is short and bounded; the next attempt checks for an abort before it starts.
      yield* pause(backoffMs(attempt), undefined);
    }
  }
}

/** Opens, fsyncs and closes a folder so that renames inside it survive a power cut. */
export function* syncDirectorySteps(dir: string): Steps<void> {
  // Windows cannot open a folder for fsync; NTFS journals the rename itself.
  if (process.platform === 'win32') return;
  const fd = yield* ioNow('open', dir, O_RDONLY | O_DIRECTORY, 0);
  try {
    yield* io('fsync', fd);
  } catch (error) {
    // Some file systems (certain network and FUSE mounts) cannot fsync a folder at all.
    const errno = errnoOf(error);
    if (errno !== 'EINVAL' && errno !== 'ENOTSUP' && errno !== 'EOPNOTSUPP') {
      yield* closeQuietly(fd);
      throw error;
    }
  }
  yield* closeQuietly(fd);
}

/** Removes a file, ignoring every error: used on cleanup paths only. */
export function* unlinkQuietly(path: string, now = false): Steps<void> {
  try {
    if (now) yield* ioNow('unlink', path);
    else yield* io('unlink', path);
  } catch {
    // A leftover is recognisable by its name and removed by sweepTempFiles.
  }
}

function* attemptWrite(job: WriteJob): Steps<void> {
  const early = job.aborted();
  if (early !== undefined) throw abortError(early, 'open', job.target);

  let file = job.absolute;
  let stats = yield* lstatOrUndefined(file, job.target);
  for (let hops = 0; stats?.isSymbolicLink() === true; hops++) {
    if (hops >= 40) {
      throw new StoreError('IO', `Too many symbolic links while resolving ${job.target}`, {
        path: job.target,
        step: 'stat',
        cause: Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' }),
      });
    }
    let link: string;
    try {
      link = yield* io('readlink', file);
    } catch (error) {
      throw toStoreError(error, 'stat', job.target);
    }
    file = resolve(dirname(file), link);
    stats = yield* lstatOrUndefined(file, job.target);
  }
  if (stats?.isDirectory() === true) {
    throw new StoreError('IS_DIRECTORY', `Cannot write ${job.target}: it is a folder`, {
      path: job.target,
      step: 'stat',
    });
  }
  const dir = dirname(file);
  const base = basename(file);
  const mode = stats === undefined ? job.mode : stats.mode & 0o7777;

  let temp = '';
  let fd = -1;
  for (let clash = 0; fd < 0; clash++) {
    temp = join(dir, tempName(base));
    try {
      fd = yield* io('open', temp, O_WRONLY | O_CREAT | O_EXCL, mode);
    } catch (error) {
      if (errnoOf(error) === 'EEXIST' && clash < 8) continue;
      throw toStoreError(error, 'open', job.target);
    }
  }

  let step: StoreStep = 'write';
  let isOpen = true;
  let renamed = false;
  let oldLink: string | undefined;
  try {
    yield* writeData(fd, job.data, job.encoding);
    if (stats !== undefined && needsChown(stats)) {
      step = 'chown';
      yield* io('fchown', fd, stats.uid, stats.gid);
    }
    // Explicit, so the umask cannot narrow the mode the caller asked for or the file had.
    step = 'chmod';
    yield* ioNow('fchmod', fd, mode);
    if (job.durability !== 'none') {
      step = 'fsync';
      yield* io('fsync', fd);
    }
    step = 'close';
    isOpen = false;
    yield* ioNow('close', fd);

    if (job.beforeRename !== undefined) {
      step = 'backup';
      yield* job.beforeRename(file, stats !== undefined, job.durability);
    }

    // From the checks to the rename every call is synchronous, so no other write of this process
    // can slip in between (a sync write in particular, which must stay the last word).
    const signal = job.aborted();
    if (signal !== undefined) throw abortError(signal, 'rename', job.target);
    if (job.superseded()) {
      yield* unlinkQuietly(temp, true);
      return;
    }
    if (stats !== undefined && job.durability === 'full') {
      // A second name for the old version, so a failed folder fsync can put it back.
      oldLink = join(dir, tempName(base));
      try {
        yield* ioNow('link', file, oldLink);
      } catch {
        oldLink = undefined;
      }
    }
    step = 'rename';
    yield* ioNow('rename', temp, file);
    renamed = true;
    if (job.durability === 'full') {
      step = 'fsync-dir';
      yield* syncDirectorySteps(dir);
    }
  } catch (error) {
    if (isOpen) yield* closeQuietly(fd);
    if (!renamed) {
      yield* unlinkQuietly(temp, true);
    } else if (!job.superseded()) {
      yield* restore(file, oldLink, stats !== undefined);
      oldLink = undefined;
    }
    if (oldLink !== undefined) yield* unlinkQuietly(oldLink, true);
    throw toStoreError(error, step, job.target);
  }
  // This frees the old version's blocks: quick for a small file, left to the thread pool for a
  // large one so the event loop is not held up.
  if (oldLink !== undefined) yield* unlinkQuietly(oldLink, (stats?.size ?? 0) < 1024 * 1024);
}

/** Writes all of `data` from position 0, looping on short writes. */
function* writeData(fd: number, data: string | Uint8Array, encoding: BufferEncoding): Steps<void> {
  if (typeof data === 'string') {
    // Handing the string to the native write encodes it without a pooled or page-faulting
    // allocation; only a short write needs the bytes themselves to resume from.
    const total = Buffer.byteLength(data, encoding);
    if (total === 0) return;
    const written = yield* io('writeString', fd, data, 0, encoding);
    if (written >= total) return;
    yield* writeBytes(fd, Buffer.from(data, encoding), Math.max(0, written));
    return;
  }
  yield* writeBytes(fd, data, 0);
}

function* writeBytes(fd: number, data: Uint8Array, from: number): Steps<void> {
  const length = data.byteLength;
  let offset = from;
  while (offset < length) {
    const written = yield* io('write', fd, data, offset, length - offset, offset);
    if (!(written > 0)) {
      throw Object.assign(new Error(`write returned ${written} after ${offset} bytes`), {
        code: 'EIO',
      });
    }
    offset += written;
  }
}

/** Undoes a rename whose folder fsync failed, so the caller's view matches the error. */
function* restore(file: string, oldLink: string | undefined, existed: boolean): Steps<void> {
  try {
    if (oldLink !== undefined) yield* ioNow('rename', oldLink, file);
    else if (!existed) yield* ioNow('unlink', file);
  } catch {
    // Nothing more can be done: the error about the folder fsync is what the caller sees.
  }
}

function* lstatOrUndefined(path: string, target: string): Steps<Stats | undefined> {
  try {
    return yield* io('lstat', path);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw toStoreError(error, 'stat', target);
  }
}

function* closeQuietly(fd: number): Steps<void> {
  try {
    yield* ioNow('close', fd);
  } catch {
    // The descriptor is released even when close reports an error.
  }
}

function needsChown(stats: Stats): boolean {
  const uid = process.geteuid?.();
  if (uid !== 0) return false;
  return stats.uid !== uid || stats.gid !== process.getegid?.();
}

const TRANSIENT = new Set(['EBUSY', 'EAGAIN', 'EWOULDBLOCK', 'EMFILE', 'ENFILE']);

function isTransient(error: StoreError): boolean {
  if (error.code === 'ABORTED') return false;
  const errno = errnoOf(error.cause);
  if (errno !== undefined && TRANSIENT.has(errno)) return true;
  // Windows reports a rename over a file another process has open as EPERM or EACCES.
  return (
    process.platform === 'win32' &&
    error.step === 'rename' &&
    (errno === 'EPERM' || errno === 'EACCES')
  );
}
