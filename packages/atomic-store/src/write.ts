import { isAbsolute, resolve } from 'node:path';
import { abortError, describeValue } from './errors.ts';
import { type BeforeRename, type Durability, writeProtocol } from './internal/protocol.ts';
import { runAsync, runSync } from './internal/run.ts';

export type { Durability } from './internal/protocol.ts';

/** Options of {@link writeFileAtomic} and {@link writeFileAtomicSync}. */
export interface WriteOptions {
  /**
   * Mode of a file that does not exist yet, set explicitly so the umask does not narrow it. An
   * existing file always keeps its own mode.
   * @default 0o644
   */
  mode?: number;
  /**
   * How long the write waits for the disk before it resolves:
   * - `'full'`: the temp file is fsynced before the rename and the folder after it. Once the call
   *   resolves, the new content survives a power cut.
   * - `'file'`: the temp file is fsynced, the folder is not. A power cut shortly after may bring
   *   back the old file (never a mix or an empty one); a process crash cannot.
   * - `'none'`: no fsync. Still atomic for readers and across a process crash, but after a power
   *   cut the file may hold the old content, or on some file systems be empty.
   * @default 'full'
   */
  durability?: Durability;
  /**
   * Let a burst of writes to one path write only the latest data. Every caller still resolves
   * only once data at least as new as its own is on disk.
   * @default false
   */
  coalesce?: boolean;
  /**
   * How many times a transient error (`EBUSY`, `EAGAIN`, `EMFILE`, `ENFILE`, and `EPERM`/`EACCES`
   * on a Windows rename) restarts the write with a fresh temp file, after a short growing pause.
   * @default 3
   */
  retries?: number;
  /** Abandons the write if it fires before the rename; the target is then left untouched. */
  signal?: AbortSignal;
  /**
   * Encoding of string data.
   * @default 'utf8'
   */
  encoding?: BufferEncoding;
}

/**
 * Writes `data` to `path` so that a crash at any instant leaves either the old content or the
 * new one, never a mix and never an empty file.
 *
 * The data goes to a temp file created exclusively beside the target (`.<name>.<host>-<pid>-
 * <random>.tmp`), every byte is written, the mode of an existing file is kept, the temp file is
 * fsynced and renamed over the target, and the folder is fsynced. A symlinked target is written
 * through: the link stays and the file it points to is replaced. On failure the temp file is
 * removed, the target is left as it was and a {@link StoreError} names the failing step.
 *
 * Writes to one path from this process never interleave and land in call order (paths are
 * compared after `path.resolve`, without following links). Bytes are not copied: leave a
 * `Uint8Array` unchanged until the returned promise settles.
 *
 * @example
 * ```ts
 * await writeFileAtomic('plan/001_ab12/tasks.json', JSON.stringify(backlog, null, 2) + '\n');
 * ```
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  let settings: Settings;
  try {
    settings = readSettings('writeFileAtomic', path, data, options);
  } catch (error) {
    return Promise.reject(error);
  }
  return enqueueWrite(path, data, settings, undefined);
}

/**
 * The synchronous twin of {@link writeFileAtomic}, for the last moments of a process (an `exit`
 * handler, a second Ctrl-C). Same protocol and guarantees; `coalesce` and `signal` are ignored.
 *
 * It supersedes this process's queued writes to the same path: those not started yet resolve
 * without writing, and one in progress is abandoned before its rename, so older data never lands
 * after it.
 */
export function writeFileAtomicSync(
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): void {
  const settings = readSettings('writeFileAtomicSync', path, data, options);
  writeNow(path, data, settings, undefined);
}

/**
 * Resolves once every write queued by this process before the call has settled: for one path, or
 * for all paths when `path` is omitted. It never rejects; a failed write reports to its own caller.
 */
export function flushWrites(path?: string): Promise<void> {
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    return Promise.reject(
      new TypeError(`flushWrites: expected a path string, got ${describeValue(path)}`),
    );
  }
  const targets = path === undefined ? [...queues.values()] : [queues.get(absoluteKey(path))];
  const waits: Promise<void>[] = [];
  for (const queue of targets) {
    if (queue === undefined) continue;
    const tail = queue.jobs.at(-1) ?? queue.active;
    if (tail === undefined) continue;
    waits.push(
      new Promise<void>((done) => {
        queue.flushers.push({ seq: tail.seq, done });
      }),
    );
  }
  return Promise.all(waits).then(() => undefined);
}

/** Validated write settings. */
export interface Settings {
  mode: number;
  durability: Durability;
  coalesce: boolean;
  retries: number;
  signal: AbortSignal | undefined;
  encoding: BufferEncoding;
}

/** Checks the arguments of a write and fills in defaults; misuse throws `TypeError`. */
export function readSettings(
  caller: string,
  path: unknown,
  data: unknown,
  options: WriteOptions,
): Settings {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`${caller}: expected a non-empty path string, got ${describeValue(path)}`);
  }
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new TypeError(
      `${caller}: expected data as a string or Uint8Array, got ${describeValue(data)}`,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${caller}: expected an options object, got ${describeValue(options)}`);
  }
  const { mode = 0o644, durability = 'full', coalesce = false, retries = 3, signal } = options;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new TypeError(
      `${caller}: expected options.mode as an integer from 0 to 0o7777, got ${describeValue(mode)}`,
    );
  }
  if (durability !== 'none' && durability !== 'file' && durability !== 'full') {
    throw new TypeError(
      `${caller}: expected options.durability 'none', 'file' or 'full', got ${describeValue(durability)}`,
    );
  }
  if (typeof coalesce !== 'boolean') {
    throw new TypeError(
      `${caller}: expected options.coalesce as a boolean, got ${describeValue(coalesce)}`,
    );
  }
  if (!Number.isInteger(retries) || retries < 0) {
    throw new TypeError(
      `${caller}: expected options.retries as a non-negative integer, got ${describeValue(retries)}`,
    );
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${caller}: expected options.signal as an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  const encoding = options.encoding ?? 'utf8';
  if (!Buffer.isEncoding(encoding)) {
    throw new TypeError(
      `${caller}: expected options.encoding as a Buffer encoding, got ${describeValue(encoding)}`,
    );
  }
  return { mode, durability, coalesce, retries, signal, encoding };
}

/** Queues a write; `beforeRename` lets the JSON store keep its `.bak` inside the same turn. */
export function enqueueWrite(
  path: string,
  data: string | Uint8Array,
  settings: Settings,
  beforeRename: BeforeRename | undefined,
): Promise<void> {
  const signal = settings.signal;
  if (signal?.aborted) return Promise.reject(abortError(signal, 'queue', path));
  const key = absoluteKey(path);
  let queue = queues.get(key);
  if (queue === undefined) {
    queue = { key, jobs: [], active: undefined, generation: 0, scheduled: false, flushers: [] };
    queues.set(key, queue);
  }
  const entry: Entry = { path, data, settings, beforeRename, own: undefined, onAbort: undefined };
  const last = queue.jobs.at(-1);
  let job: Job;
  if (settings.coalesce && last?.coalesce) {
    job = last;
    job.entries.push(entry);
  } else {
    job = { seq: nextSeq++, coalesce: settings.coalesce, entries: [entry], started: false };
    queue.jobs.push(job);
  }
  let promise: Promise<void>;
  if (signal === undefined) {
    // Callers that cannot abort share one promise per job: a burst then costs one allocation
    // of a promise instead of one per call.
    job.shared ??= deferred();
    promise = job.shared.promise;
  } else {
    const own = deferred();
    entry.own = own;
    const owner = queue;
    entry.onAbort = () => abandonEntry(owner, job, entry, signal);
    signal.addEventListener('abort', entry.onAbort, { once: true });
    promise = own.promise;
  }
  schedule(queue);
  return promise;
}

/** Writes synchronously and lets the queued writes of the same path know they are superseded. */
export function writeNow(
  path: string,
  data: string | Uint8Array,
  settings: Settings,
  beforeRename: BeforeRename | undefined,
): void {
  const key = absoluteKey(path);
  runSync(
    writeProtocol({
      target: path,
      absolute: key,
      data,
      encoding: settings.encoding,
      mode: settings.mode,
      durability: settings.durability,
      retries: settings.retries,
      aborted: () => undefined,
      superseded: () => false,
      beforeRename,
    }),
  );
  const queue = queues.get(key);
  if (queue === undefined) return;
  queue.generation++;
  const dropped = queue.jobs.splice(0);
  for (const job of dropped) settle(job, undefined);
  notifyFlushers(queue);
  if (queue.active === undefined && !queue.scheduled) forget(queue);
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One call's contribution to a job. */
interface Entry {
  path: string;
  data: string | Uint8Array;
  settings: Settings;
  beforeRename: BeforeRename | undefined;
  /** The caller's own promise, for a call that can be aborted. */
  own: Deferred | undefined;
  onAbort: (() => void) | undefined;
}

/** One disk write: a single call, or a burst of coalesced calls writing the newest data. */
interface Job {
  /** Order of creation; `flushWrites` waits until every job up to a given one has settled. */
  seq: number;
  coalesce: boolean;
  entries: Entry[];
  started: boolean;
  /** The promise shared by the calls that have no signal. */
  shared?: Deferred | undefined;
}

interface PathQueue {
  key: string;
  jobs: Job[];
  active: Job | undefined;
  /** Bumped by each sync write, so an async write in flight knows it has been superseded. */
  generation: number;
  /** A coalescing job waits one turn of the event loop so that a burst can join it. */
  scheduled: boolean;
  flushers: { seq: number; done: () => void }[];
}

const queues = new Map<string, PathQueue>();
let nextSeq = 1;

function schedule(queue: PathQueue): void {
  if (queue.active !== undefined || queue.scheduled) return;
  if (queue.jobs[0]?.coalesce === true) {
    queue.scheduled = true;
    setImmediate(() => {
      queue.scheduled = false;
      void pump(queue);
    });
  } else {
    void pump(queue);
  }
}

async function pump(queue: PathQueue): Promise<void> {
  while (queue.active === undefined && queue.jobs.length > 0) {
    const job = queue.jobs.shift()!;
    job.started = true;
    queue.active = job;
    const generation = queue.generation;
    const last = job.entries.at(-1)!;
    let failure: { error: unknown } | undefined;
    try {
      await runAsync(
        writeProtocol({
          target: last.path,
          absolute: queue.key,
          data: last.data,
          encoding: last.settings.encoding,
          mode: last.settings.mode,
          durability: strongest(job.entries),
          retries: mostRetries(job.entries),
          aborted: () => allAborted(job.entries),
          superseded: () => queue.generation !== generation,
          beforeRename: last.beforeRename,
        }),
      );
    } catch (error) {
      failure = { error };
    }
    queue.active = undefined;
    settle(job, failure?.error);
    notifyFlushers(queue);
  }
  if (queue.active === undefined && queue.jobs.length === 0 && !queue.scheduled) forget(queue);
}

function abandonEntry(queue: PathQueue, job: Job, entry: Entry, signal: AbortSignal): void {
  // Once started, a write is abandoned only if every call sharing it aborted (see allAborted).
  if (job.started) return;
  const index = job.entries.indexOf(entry);
  if (index < 0) return;
  // Removing the entry also takes its data out: the job writes the newest data left.
  job.entries.splice(index, 1);
  entry.own?.reject(abortError(signal, 'queue', entry.path));
  if (job.entries.length === 0) {
    const at = queue.jobs.indexOf(job);
    if (at >= 0) queue.jobs.splice(at, 1);
    notifyFlushers(queue);
    if (queue.active === undefined && queue.jobs.length === 0 && !queue.scheduled) forget(queue);
  }
}

function settle(job: Job, error: unknown): void {
  if (job.shared !== undefined) {
    if (error === undefined) job.shared.resolve();
    else job.shared.reject(error);
  }
  for (const entry of job.entries) {
    if (entry.own === undefined) continue;
    if (entry.onAbort !== undefined) {
      entry.settings.signal?.removeEventListener('abort', entry.onAbort);
    }
    if (error === undefined) entry.own.resolve();
    else entry.own.reject(error);
  }
}

function notifyFlushers(queue: PathQueue): void {
  if (queue.flushers.length === 0) return;
  const oldest = Math.min(queue.active?.seq ?? Infinity, queue.jobs[0]?.seq ?? Infinity);
  queue.flushers = queue.flushers.filter((flusher) => {
    if (flusher.seq >= oldest) return true;
    flusher.done();
    return false;
  });
}

function forget(queue: PathQueue): void {
  for (const flusher of queue.flushers) flusher.done();
  queue.flushers = [];
  if (queues.get(queue.key) === queue) queues.delete(queue.key);
}

function allAborted(entries: Entry[]): AbortSignal | undefined {
  let signal: AbortSignal | undefined;
  for (const entry of entries) {
    const own = entry.settings.signal;
    if (own === undefined || !own.aborted) return undefined;
    signal ??= own;
  }
  return signal;
}

function strongest(entries: Entry[]): Durability {
  let rank = 0;
  for (const entry of entries) rank = Math.max(rank, DURABILITY_RANK[entry.settings.durability]);
  return rank === 2 ? 'full' : rank === 1 ? 'file' : 'none';
}

function mostRetries(entries: Entry[]): number {
  let retries = 0;
  for (const entry of entries) retries = Math.max(retries, entry.settings.retries);
  return retries;
}

function deferred(): Deferred {
  let resolvePromise!: () => void;
  let rejectPromise!: (error: unknown) => void;
  const promise = new Promise<void>((resolve, reject) => {
    resolvePromise = resolve;
    rejectPromise = reject;
  });
  return { promise, resolve: resolvePromise, reject: rejectPromise };
}

/** `path.resolve`, remembered for absolute paths (which do not depend on the working folder). */
function absoluteKey(path: string): string {
  if (!isAbsolute(path)) return resolve(path);
  let key = absoluteKeys.get(path);
  if (key === undefined) {
    if (absoluteKeys.size >= 1024) absoluteKeys.clear();
    key = resolve(path);
    absoluteKeys.set(path, key);
  }
  return key;
}

const absoluteKeys = new Map<string, string>();

const DURABILITY_RANK: Record<Durability, number> = { none: 0, file: 1, full: 2 };
