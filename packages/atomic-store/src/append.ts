import { dirname, resolve } from 'node:path';
import {
  abortError,
  codeForErrno,
  describeValue,
  errnoOf,
  StoreError,
  type StoreStep,
} from './errors.ts';
import { O_CREAT, O_EXCL, O_WRONLY } from './internal/fs.ts';
import { syncDirectorySteps } from './internal/protocol.ts';
import { io, ioNow, runAsync, runSync, type Steps } from './internal/run.ts';

/** Options of {@link openAppendFile} and the other append functions. */
export interface AppendFileOptions {
  /**
   * Mode of a file the call creates, narrowed by the process umask as `open(2)` does. An existing
   * file keeps its mode.
   * @default 0o666
   */
  readonly mode?: number;
  /**
   * Aborts an asynchronous operation before its next step starts (open, folder fsync, write,
   * fdatasync, truncate). An append aborted after some of its bytes were written is cut back off,
   * as a failed append is. The synchronous variants and `close()` ignore it: they are for the
   * last moments of a process, when the signal has often just fired.
   */
  readonly signal?: AbortSignal;
}

/**
 * A file opened for durable appends, holding one descriptor across calls. Made by
 * {@link openAppendFile} or {@link openAppendFileSync}.
 *
 * Each append writes every byte at the end of the file as this handle knows it, then
 * `fdatasync`s, and resolves only when the bytes are on disk. Operations on one handle run one at
 * a time in call order. An append that fails (a short write on a full disk, `EIO` from the
 * fdatasync, an abort) cuts the file back to its length before the append, so while the process
 * lives a failed append never leaves part of a record behind. If a crash (or power cut) interrupts
 * an append, the file may end with part of that record: only bytes after the last acknowledged
 * append can be torn, so readers should frame records and ignore an incomplete tail.
 *
 * One writer per file: the handle assumes nothing else changes the file while it is open.
 */
export interface AppendFile {
  /** The file's absolute path (`path.resolve` of the path given; symlinks are not followed). */
  readonly path: string;
  /** The file's length in bytes as this handle knows it: after the last append or truncate. */
  readonly size: number;
  /**
   * Appends `data` (a string is encoded as UTF-8) and resolves once it is durable. On failure
   * it rejects with a {@link StoreError} whose `step` is `write`, `fsync` or `truncate` (an
   * earlier failed append's tail could not be cut), whose `path` is this file, and the file is
   * as it was before the call. Leave a `Uint8Array` unchanged until the promise settles.
   */
  append(data: string | Uint8Array): Promise<void>;
  /**
   * The synchronous twin of {@link AppendFile.append}, for a process's last moments. Appends
   * still queued or in progress on this handle are completed first, synchronously and in order
   * (their promises then settle with their own outcome), so the file never reorders records.
   * If redoing the running one fails, that append is cut back off and rejected, the others stay
   * queued behind its call, and this call fails with `BUSY` without appending.
   */
  appendSync(data: string | Uint8Array): void;
  /**
   * Cuts the file to `size` bytes (at most the current {@link AppendFile.size}; a torn tail,
   * for example) and fsyncs it. A failed fsync leaves the file cut (the bytes are gone) and
   * `size` updated, and rejects with step `fsync`.
   */
  truncate(size: number): Promise<void>;
  /**
   * The synchronous twin of {@link AppendFile.truncate}. Fails with `BUSY` while an asynchronous
   * operation of this handle is still running: its late write could land past the cut.
   */
  truncateSync(size: number): void;
  /**
   * Waits for the operations already queued, then closes the descriptor. Idempotent: later calls
   * return the same promise. After it is called, `append` and `truncate` fail with a
   * {@link StoreError} of code `CLOSED` (step `queue`).
   */
  close(): Promise<void>;
  /**
   * Completes queued operations synchronously, as {@link AppendFile.appendSync} does, then closes
   * the descriptor. Idempotent. If an asynchronous call of this handle is still running in the
   * thread pool, the descriptor is closed when it returns instead, so the number is never reused
   * under it.
   */
  closeSync(): void;
}

/**
 * Opens `path` for durable appends, creating it if missing (then the folder is fsynced, so the new
 * name survives a power cut). One descriptor stays open until `close()`.
 *
 * Fails with a {@link StoreError} naming `path` at step `open` or `fsync-dir`; a file this call
 * created is removed again when the folder fsync fails.
 *
 * @example
 * ```ts
 * const log = await openAppendFile('plan/001_ab12/events.log');
 * await log.append(`${JSON.stringify({ id: '1.1', status: 'Complete' })}\n`);
 * await log.close();
 * ```
 */
export async function openAppendFile(
  path: string,
  options: AppendFileOptions = {},
): Promise<AppendFile> {
  const settings = readOptions('openAppendFile', path, options);
  const opened = await runAsync(openSteps(settings));
  return new AppendFileHandle(opened, settings.signal);
}

/** The synchronous twin of {@link openAppendFile}. The signal is only checked before opening. */
export function openAppendFileSync(path: string, options: AppendFileOptions = {}): AppendFile {
  const settings = readOptions('openAppendFileSync', path, options);
  const opened = runSync(openSteps(settings));
  return new AppendFileHandle(opened, undefined);
}

/**
 * Appends `data` to `path` durably in one call: open (creating the file, and fsyncing its folder,
 * if missing), write, fdatasync, close. On failure the file is as before: cut back to its length,
 * or removed again if this call created it. Keep an {@link AppendFile} open instead when appending
 * repeatedly: it saves the open and close of every call.
 */
export async function appendFileDurable(
  path: string,
  data: string | Uint8Array,
  options: AppendFileOptions = {},
): Promise<void> {
  const settings = readOptions('appendFileDurable', path, options);
  checkData('appendFileDurable', data);
  const opened = await runAsync(openSteps(settings));
  const handle = new AppendFileHandle(opened, settings.signal);
  try {
    await handle.append(data);
  } catch (error) {
    await handle.close().catch(() => undefined);
    if (opened.created) runSync(removeCreated(opened.path));
    throw error;
  }
  await handle.close();
}

/** The synchronous twin of {@link appendFileDurable}. The signal is only checked before opening. */
export function appendFileDurableSync(
  path: string,
  data: string | Uint8Array,
  options: AppendFileOptions = {},
): void {
  const settings = readOptions('appendFileDurableSync', path, options);
  checkData('appendFileDurableSync', data);
  const opened = runSync(openSteps(settings));
  const handle = new AppendFileHandle(opened, undefined);
  try {
    handle.appendSync(data);
  } catch (error) {
    try {
      handle.closeSync();
    } catch {
      // The append's error is the one that matters.
    }
    if (opened.created) runSync(removeCreated(opened.path));
    throw error;
  }
  handle.closeSync();
}

interface Settings {
  path: string;
  mode: number;
  signal: AbortSignal | undefined;
}

interface Opened {
  path: string;
  fd: number;
  size: number;
  created: boolean;
}

/** What the protocol steps share with the handle. */
interface FileState {
  readonly path: string;
  readonly fd: number;
  /** Acknowledged length. */
  size: number;
  /** The file may hold bytes past `size` (a failed append whose tail could not be cut). */
  dirty: boolean;
}

type Operation =
  | { readonly kind: 'append'; readonly data: string | Uint8Array }
  | { readonly kind: 'truncate'; readonly length: number }
  | { readonly kind: 'close' };

interface Job {
  readonly op: Operation;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** A synchronous call ran this job itself; the asynchronous run only waits for its call. */
  adopted: boolean;
}

class AppendFileHandle implements AppendFile {
  readonly #state: FileState;
  readonly #signal: AbortSignal | undefined;
  readonly #queue: Job[] = [];
  #active: Job | undefined;
  /** `close()` or `closeSync()` was called. */
  #closing = false;
  #closed: Promise<void> | undefined;
  /** The descriptor is closed (or will be, when the active call returns). */
  #released = false;
  #closeWhenIdle = false;
  /**
   * A synchronous call failed to redo the active job, whose call may still land bytes: later
   * synchronous calls wait (fail `BUSY`) until it returns and the tail is cut.
   */
  #blocked = false;

  constructor(opened: Opened, signal: AbortSignal | undefined) {
    this.#state = { path: opened.path, fd: opened.fd, size: opened.size, dirty: false };
    this.#signal = signal;
  }

  get path(): string {
    return this.#state.path;
  }

  get size(): number {
    return this.#state.size;
  }

  append(data: string | Uint8Array): Promise<void> {
    try {
      checkData('append', data);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue({ kind: 'append', data });
  }

  appendSync(data: string | Uint8Array): void {
    checkData('appendSync', data);
    this.#runNow({ kind: 'append', data });
  }

  truncate(size: number): Promise<void> {
    try {
      checkLength('truncate', size);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#enqueue({ kind: 'truncate', length: size });
  }

  truncateSync(size: number): void {
    checkLength('truncateSync', size);
    if (this.#active !== undefined) {
      // A call of the active job may still be in the thread pool; cutting under it could let
      // its late write land on bytes appended after the cut.
      throw new StoreError(
        'BUSY',
        `Cannot truncate ${this.#state.path} synchronously while an asynchronous operation on it is running`,
        { path: this.#state.path, step: 'truncate' },
      );
    }
    this.#runNow({ kind: 'truncate', length: size });
  }

  close(): Promise<void> {
    if (this.#closed === undefined) {
      this.#closing = true;
      this.#closed = new Promise<void>((resolve, reject) => {
        this.#queue.push({ op: { kind: 'close' }, resolve, reject, adopted: false });
      });
      void this.#pump();
    }
    return this.#closed;
  }

  closeSync(): void {
    if (this.#released) return;
    if (this.#closed === undefined) {
      this.#closing = true;
      this.#closed = Promise.resolve();
      this.#runNow({ kind: 'close' });
    } else {
      // close() was called: its queued job is adopted along with the others.
      this.#runNow(undefined);
    }
  }

  #enqueue(op: Operation): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError(op));
    const signal = this.#signal;
    if (signal?.aborted) {
      return Promise.reject(
        abortError(signal, op.kind === 'truncate' ? 'truncate' : 'write', this.#state.path),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ op, resolve, reject, adopted: false });
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    while (this.#active === undefined && this.#queue.length > 0) {
      const job = this.#queue.shift()!;
      this.#active = job;
      let failure: { error: unknown } | undefined;
      try {
        await runAsync(this.#steps(job, false));
      } catch (error) {
        failure = { error };
      }
      this.#active = undefined;
      if (job.adopted) {
        this.#afterAdopted();
        continue;
      }
      if (failure === undefined) job.resolve();
      else job.reject(failure.error);
    }
  }

  /** Runs after the asynchronous call of a job that a synchronous call took over has returned. */
  #afterAdopted(): void {
    if (this.#blocked) {
      this.#blocked = false;
      this.#state.dirty = true;
      if (!this.#closeWhenIdle) {
        try {
          runSync(cutTail(this.#state));
        } catch {
          // Still dirty: the next operation tries again and reports the failure.
        }
      }
    }
    if (this.#closeWhenIdle) {
      this.#closeWhenIdle = false;
      try {
        runSync(closeSteps(this.#state));
      } catch {
        // closeSync already returned; the descriptor is released even when close reports an error.
      }
    }
  }

  /**
   * Runs `own` synchronously, after completing (in order) every job queued or in progress, so a
   * synchronous call never reorders the file.
   */
  #runNow(own: Operation | undefined): void {
    if (own !== undefined && own.kind !== 'close' && this.#closing) throw this.#closedError(own);
    if (this.#blocked) {
      throw new StoreError(
        'BUSY',
        `An earlier failed operation on ${this.#state.path} is still finishing; try again`,
        { path: this.#state.path, step: own?.kind === 'truncate' ? 'truncate' : 'write' },
      );
    }
    const active = this.#active !== undefined && !this.#active.adopted ? this.#active : undefined;
    const pending = active === undefined ? [] : [active];
    pending.push(...this.#queue.splice(0));
    for (let index = 0; index < pending.length; index++) {
      const job = pending[index]!;
      job.adopted = true;
      try {
        runSync(this.#steps(job, true));
        job.resolve();
      } catch (error) {
        job.reject(error);
        if (job === active && job.op.kind === 'append') {
          // Its asynchronous write may still land: hand the rest back to the queue, which waits
          // for that call, and cut the tail after it.
          this.#blocked = true;
          for (const rest of pending.slice(index + 1)) rest.adopted = false;
          this.#queue.unshift(...pending.slice(index + 1));
          if (own === undefined) return;
          throw new StoreError(
            'BUSY',
            `An earlier append to ${this.#state.path} failed while it was still running; try again`,
            { path: this.#state.path, step: 'write', cause: error },
          );
        }
      }
    }
    if (own !== undefined) runSync(this.#steps({ op: own, adopted: true }, true));
  }

  /**
   * The protocol of one job. `sync` runs are made by a synchronous call and never skipped; an
   * asynchronous run stops at its next step once a synchronous call has adopted its job.
   */
  #steps(job: Pick<Job, 'op' | 'adopted'>, sync: boolean): Steps<void> {
    const state = this.#state;
    const aborted = sync
      ? () => undefined
      : () => (this.#signal?.aborted ? this.#signal : undefined);
    const adopted = () => !sync && job.adopted;
    switch (job.op.kind) {
      case 'append':
        return appendSteps(state, job.op.data, aborted, adopted);
      case 'truncate':
        return truncateSteps(state, job.op.length, aborted, adopted);
      case 'close':
        this.#released = true;
        if (sync && this.#active !== undefined) {
          // The active job's call is still in the thread pool with this descriptor.
          this.#closeWhenIdle = true;
          return noSteps();
        }
        return closeSteps(state);
    }
  }

  #closedError(op: Operation): StoreError {
    return new StoreError('CLOSED', `Cannot ${op.kind} ${this.#state.path}: the file is closed`, {
      path: this.#state.path,
      step: 'queue',
    });
  }
}

/** Opens (creating if missing) and, for a new file, fsyncs the folder. */
function* openSteps(settings: Settings): Steps<Opened> {
  const { path, mode, signal } = settings;
  if (signal?.aborted) throw abortError(signal, 'open', path);
  let fd = -1;
  let created = false;
  for (let attempt = 0; fd < 0; attempt++) {
    try {
      fd = yield* io('open', path, O_WRONLY | O_CREAT | O_EXCL, mode);
      created = true;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw appendError(error, 'open', path);
      try {
        // Follows a symbolic link, which O_EXCL refuses.
        fd = yield* io('open', path, O_WRONLY, 0);
      } catch (again) {
        // Removed between the two opens: create it after all.
        if (errnoOf(again) === 'ENOENT' && attempt < 3) continue;
        throw appendError(again, 'open', path);
      }
    }
  }
  let size = 0;
  if (!created) {
    try {
      const stats = yield* ioNow('fstat', fd);
      size = stats.size;
    } catch (error) {
      yield* closeQuietly(fd);
      throw appendError(error, 'open', path);
    }
  } else {
    try {
      if (signal?.aborted) throw abortError(signal, 'fsync-dir', path);
      yield* syncDirectorySteps(dirname(path));
    } catch (error) {
      yield* closeQuietly(fd);
      yield* removeCreated(path);
      throw appendError(error, 'fsync-dir', path);
    }
  }
  return { path, fd, size, created };
}

/**
 * Writes `data` at the acknowledged end, then fdatasyncs. On failure the file is cut back to
 * where it was. `adopted()` turns true when a synchronous call has redone this append: the rest
 * of the run is then skipped, whatever its call returned.
 */
function* appendSteps(
  state: FileState,
  data: string | Uint8Array,
  aborted: () => AbortSignal | undefined,
  adopted: () => boolean,
): Steps<void> {
  yield* cutTail(state);
  const start = state.size;
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (length === 0) return;
  let signal = aborted();
  if (signal !== undefined) throw abortError(signal, 'write', state.path);
  let step: StoreStep = 'write';
  try {
    let offset = 0;
    let bytes = data;
    if (typeof data === 'string') {
      // The native write encodes the string itself; only a short write needs the bytes.
      offset = yield* io('writeString', state.fd, data, start, 'utf8');
      if (adopted()) return;
      if (offset < length) bytes = Buffer.from(data, 'utf8');
    }
    while (offset < length) {
      const view = bytes as Uint8Array;
      const written = yield* io('write', state.fd, view, offset, length - offset, start + offset);
      if (adopted()) return;
      if (!(written > 0)) {
        throw Object.assign(new Error(`write returned ${written} after ${offset} bytes`), {
          code: 'EIO',
        });
      }
      offset += written;
    }
    signal = aborted();
    if (signal !== undefined) throw abortError(signal, 'fsync', state.path);
    step = 'fsync';
    yield* io('fdatasync', state.fd);
    if (adopted()) return;
  } catch (error) {
    if (adopted()) return;
    try {
      yield* ioNow('ftruncate', state.fd, start);
    } catch {
      // Remembered: the next append or truncate cuts the tail first, or fails saying so.
      state.dirty = true;
    }
    throw appendError(error, step, state.path);
  }
  state.size = start + length;
}

/** Cuts the file to `length`, then fsyncs it. */
function* truncateSteps(
  state: FileState,
  length: number,
  aborted: () => AbortSignal | undefined,
  adopted: () => boolean,
): Steps<void> {
  if (length > state.size) {
    throw new TypeError(
      `truncate: expected a size from 0 to ${state.size} (the length of ${state.path}), got ${length}`,
    );
  }
  const signal = aborted();
  if (signal !== undefined) throw abortError(signal, 'truncate', state.path);
  try {
    yield* ioNow('ftruncate', state.fd, length);
  } catch (error) {
    throw appendError(error, 'truncate', state.path);
  }
  state.size = length;
  state.dirty = false;
  try {
    yield* io('fsync', state.fd);
  } catch (error) {
    if (adopted()) return;
    throw appendError(error, 'fsync', state.path);
  }
}

/** Cuts bytes a failed append left past the acknowledged end, if any. */
function* cutTail(state: FileState): Steps<void> {
  if (!state.dirty) return;
  try {
    yield* ioNow('ftruncate', state.fd, state.size);
  } catch (error) {
    throw appendError(error, 'truncate', state.path);
  }
  state.dirty = false;
}

function* closeSteps(state: FileState): Steps<void> {
  try {
    yield* ioNow('close', state.fd);
  } catch (error) {
    throw appendError(error, 'close', state.path);
  }
}

function* closeQuietly(fd: number): Steps<void> {
  try {
    yield* ioNow('close', fd);
  } catch {
    // The descriptor is released even when close reports an error.
  }
}

/** Removes a file this module created, and makes the removal durable, ignoring errors. */
function* removeCreated(path: string): Steps<void> {
  try {
    yield* ioNow('unlink', path);
    yield* syncDirectorySteps(dirname(path));
  } catch {
    // Best effort: the caller reports the error that made it necessary.
  }
}

function* noSteps(): Steps<void> {}

const STEP_WORDS: Partial<Record<StoreStep, string>> = {
  open: 'Opening',
  write: 'Appending to',
  fsync: 'Flushing',
  close: 'Closing',
  'fsync-dir': 'Flushing the folder of',
  truncate: 'Truncating',
};

/** Wraps an OS error met at `step`; a `StoreError` passes through unchanged. */
function appendError(error: unknown, step: StoreStep, path: string): StoreError {
  if (error instanceof StoreError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreError(
    codeForErrno(errnoOf(error)),
    `${STEP_WORDS[step] ?? step} ${path} failed: ${reason}`,
    { path, step, cause: error },
  );
}

function readOptions(caller: string, path: unknown, options: AppendFileOptions): Settings {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`${caller}: expected a non-empty path string, got ${describeValue(path)}`);
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${caller}: expected an options object, got ${describeValue(options)}`);
  }
  const { mode = 0o666, signal } = options;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new TypeError(
      `${caller}: expected options.mode as an integer from 0 to 0o7777, got ${describeValue(mode)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${caller}: expected options.signal as an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  return { path: resolve(path), mode, signal };
}

function checkData(caller: string, data: unknown): void {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(
      `${caller}: expected data as a string or Uint8Array, got ${describeValue(data)}`,
    );
  }
}

function checkLength(caller: string, size: unknown): void {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new TypeError(
      `${caller}: expected a size as a non-negative integer, got ${describeValue(size)}`,
    );
  }
}
