import { constants, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach } from 'vitest';
import { type FsSeam, fsx, replaceFs } from '../src/internal/fs.ts';
import { parseTempName } from '../src/internal/temp-name.ts';

const made: string[] = [];
const restorers: (() => void)[] = [];

afterEach(() => {
  while (restorers.length > 0) restorers.pop()!();
  while (made.length > 0) rmSync(made.pop()!, { recursive: true, force: true });
});

/** A fresh folder, removed after the test. */
export function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-store-test-'));
  made.push(dir);
  return dir;
}

/** The folder's entries, sorted. */
export function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Replaces seam members for the rest of the test. */
export function patchFs(overrides: Partial<FsSeam>): void {
  restorers.push(replaceFs(overrides));
}

/** The steps a fault can be injected at, with the write protocol's order. */
export const FAULT_STEPS = [
  'open',
  'write',
  'chmod',
  'fsync',
  'close',
  'rename',
  'fsync-dir',
] as const;

export type FaultStep = (typeof FAULT_STEPS)[number];

/** An error shaped like the ones Node's fs raises. */
export function osError(errno: string, syscall = 'injected'): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: injected fault, ${syscall}`), {
    code: errno,
    errno: -1,
    syscall,
  });
}

/**
 * Makes every call of the protocol at `step` fail with `errno`, in both the async and the sync
 * variant, while everything else goes to the real file system. Descriptors are tracked from
 * their `open` so that the temp file's fsync and close are told from the folder's.
 */
export function failAt(step: FaultStep, errno: string, times = Number.POSITIVE_INFINITY): void {
  const kinds = new Map<number, 'temp' | 'dir' | 'other'>();
  let remaining = times;
  const shouldFail = () => remaining-- > 0;
  const kindOf = (path: string, flags: number): 'temp' | 'dir' | 'other' => {
    if (parseTempName(basename(path)) !== undefined) return 'temp';
    return (flags & constants.O_DIRECTORY) !== 0 ? 'dir' : 'other';
  };
  const real = { ...fsx };
  const overrides: Partial<FsSeam> = {
    open: async (path, flags, mode) => {
      if (step === 'open' && kindOf(path, flags) === 'temp' && shouldFail())
        throw osError(errno, 'open');
      const fd = await real.open(path, flags, mode);
      kinds.set(fd, kindOf(path, flags));
      return fd;
    },
    openSync: (path, flags, mode) => {
      if (step === 'open' && kindOf(path, flags) === 'temp' && shouldFail())
        throw osError(errno, 'open');
      const fd = real.openSync(path, flags, mode);
      kinds.set(fd, kindOf(path, flags));
      return fd;
    },
  };
  const onFd = (
    name: 'fsync' | 'close' | 'write' | 'writeString' | 'fchmod',
    kind: 'temp' | 'dir',
    active: boolean,
  ) => {
    if (!active) return;
    const asyncName = name;
    const syncName = `${name}Sync` as const;
    const asyncReal = real[asyncName] as (fd: number, ...rest: unknown[]) => Promise<unknown>;
    const syncReal = real[syncName] as (fd: number, ...rest: unknown[]) => unknown;
    (overrides as Record<string, unknown>)[asyncName] = async (fd: number, ...rest: unknown[]) => {
      if (kinds.get(fd) === kind && shouldFail()) {
        if (name === 'close') await asyncReal(fd);
        throw osError(errno, name);
      }
      return asyncReal(fd, ...rest);
    };
    (overrides as Record<string, unknown>)[syncName] = (fd: number, ...rest: unknown[]) => {
      if (kinds.get(fd) === kind && shouldFail()) {
        if (name === 'close') syncReal(fd);
        throw osError(errno, name);
      }
      return syncReal(fd, ...rest);
    };
  };
  onFd('write', 'temp', step === 'write');
  onFd('writeString', 'temp', step === 'write');
  onFd('fchmod', 'temp', step === 'chmod');
  onFd('fsync', 'temp', step === 'fsync');
  onFd('close', 'temp', step === 'close');
  onFd('fsync', 'dir', step === 'fsync-dir');
  if (step === 'rename') {
    const isTemp = (from: string) => parseTempName(basename(from)) !== undefined;
    overrides.rename = async (from, to) => {
      if (isTemp(from) && shouldFail()) throw osError(errno, 'rename');
      return real.rename(from, to);
    };
    overrides.renameSync = (from, to) => {
      if (isTemp(from) && shouldFail()) throw osError(errno, 'rename');
      return real.renameSync(from, to);
    };
  }
  patchFs(overrides);
}

/** One system call from an `strace -f` log; `start` and `end` are line numbers. */
export interface Call {
  pid: string;
  name: string;
  text: string;
  start: number;
  end: number;
  result: string;
}

/** Reads `strace -f` output into calls, joining `<unfinished ...>` / `resumed` pairs. */
export function parseTrace(output: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, Call>();
  output.split('\n').forEach((line, index) => {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$/.exec(line);
    if (resumed) {
      const call = open.get(`${resumed[1]}:${resumed[2]}`);
      if (call === undefined) return;
      open.delete(`${resumed[1]}:${resumed[2]}`);
      call.text += resumed[3];
      call.end = index;
      call.result = /= (-?\d+)/.exec(resumed[3]!)?.[1] ?? '';
      return;
    }
    const started = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
    if (!started) return;
    const call: Call = {
      pid: started[1]!,
      name: started[2]!,
      text: started[3]!,
      start: index,
      end: index,
      result: '',
    };
    if (line.endsWith('<unfinished ...>')) open.set(`${call.pid}:${call.name}`, call);
    else call.result = /\) += (-?\d+)/.exec(line)?.[1] ?? '';
    calls.push(call);
  });
  return calls;
}
