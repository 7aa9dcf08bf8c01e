import { type AsyncFs, fsx, nodeFs } from './fs.ts';
import { sleep, sleepSync } from './process.ts';

/**
 * The write protocol is written once, as a generator that yields each file-system call, and run
 * by one of two drivers: {@link runAsync} awaits the seam's asynchronous calls, {@link runSync}
 * makes the synchronous ones. A call made `now` is synchronous in both drivers, so a run of such
 * calls happens within one turn of the event loop; only when a test has replaced the seam's
 * asynchronous member does the async driver await that replacement instead, so that replacing
 * either variant reaches every write.
 */
export type Op =
  | {
      readonly name: keyof AsyncFs;
      readonly args: readonly unknown[];
      readonly when: 'await' | 'now';
    }
  | { readonly name: 'sleep'; readonly ms: number; readonly signal: AbortSignal | undefined };

/** A step of a protocol: a generator of operations finishing with `T`. */
export type Steps<T> = Generator<Op, T, unknown>;

type Result<K extends keyof AsyncFs> = Awaited<ReturnType<AsyncFs[K]>>;

/** One file-system call, made asynchronously by {@link runAsync}. */
export function* io<K extends keyof AsyncFs>(
  name: K,
  ...args: Parameters<AsyncFs[K]>
): Steps<Result<K>> {
  return (yield { name, args, when: 'await' }) as Result<K>;
}

/** One file-system call made synchronously by both drivers. */
export function* ioNow<K extends keyof AsyncFs>(
  name: K,
  ...args: Parameters<AsyncFs[K]>
): Steps<Result<K>> {
  return (yield { name, args, when: 'now' }) as Result<K>;
}

/** A pause, cut short by `signal`. */
export function* pause(ms: number, signal: AbortSignal | undefined): Steps<void> {
  yield { name: 'sleep', ms, signal };
}

/** Runs a protocol with asynchronous calls. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let next = steps.next();
  while (next.done !== true) {
    const op = next.value;
    let value: unknown;
    let failure: { error: unknown } | undefined;
    try {
      if (op.name === 'sleep') await sleep(op.ms, op.signal);
      else if (op.when === 'now' && fsx[op.name] === nodeFs[op.name]) {
        value = callSync(op.name, op.args);
      } else
        value = await (fsx[op.name] as (...args: readonly unknown[]) => Promise<unknown>)(
          ...op.args,
        );
    } catch (error) {
      failure = { error };
    }
    next = failure === undefined ? steps.next(value) : steps.throw(failure.error);
  }
  return next.value;
}

/** Runs a protocol with synchronous calls. */
export function runSync<T>(steps: Steps<T>): T {
  let next = steps.next();
  while (next.done !== true) {
    const op = next.value;
    let value: unknown;
    let failure: { error: unknown } | undefined;
    try {
      if (op.name === 'sleep') {
        if (op.signal?.aborted) throw op.signal.reason;
        sleepSync(op.ms);
      } else {
        value = callSync(op.name, op.args);
      }
    } catch (error) {
      failure = { error };
    }
    next = failure === undefined ? steps.next(value) : steps.throw(failure.error);
  }
  return next.value;
}

function callSync(name: keyof AsyncFs, args: readonly unknown[]): unknown {
  return (fsx[SYNC_NAMES[name]] as (...args: readonly unknown[]) => unknown)(...args);
}

const SYNC_NAMES = Object.fromEntries(
  (
    [
      'open',
      'write',
      'writeString',
      'read',
      'fstat',
      'fsync',
      'fdatasync',
      'ftruncate',
      'fchmod',
      'fchown',
      'close',
      'lstat',
      'readlink',
      'rename',
      'link',
      'unlink',
      'readFile',
      'readdir',
      'utimes',
      'realpath',
    ] as const
  ).map((name) => [name, `${name}Sync`]),
) as Record<keyof AsyncFs, `${keyof AsyncFs}Sync`>;
