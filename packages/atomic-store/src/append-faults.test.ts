import { constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, freshDir, osError, patchFs } from '../test/helpers.ts';
import {
  type AppendFile,
  appendFileDurable,
  appendFileDurableSync,
  openAppendFile,
  openAppendFileSync,
} from './append.ts';
import { StoreError, type StoreErrorCode } from './errors.ts';
import { type FsSeam, fsx } from './internal/fs.ts';

const ERRNOS: [string, StoreErrorCode][] = [
  ['ENOSPC', 'NO_SPACE'],
  ['EACCES', 'PERMISSION_DENIED'],
  ['EROFS', 'READ_ONLY'],
  ['EIO', 'IO'],
];

type AppendStep = 'open' | 'fsync-dir' | 'write' | 'fsync' | 'truncate' | 'close';

const OLD = 'record 1\nrecord 2\n';
// Larger than one page, so a short write leaves a real partial record behind.
const RECORD = `record 3 ${'r'.repeat(20_000)}\n`;

/**
 * Call it before opening `target`: descriptors are recognised from their `open`.
 * Makes the calls of `step` on `target` (or, for `fsync-dir`, on any folder) fail with `errno`,
 * in both the async and the sync member of the seam. A failing `write` first writes half of the
 * bytes, as a disk that fills up mid-write does, so the rollback has a real tail to cut.
 */
function failAppendAt(step: AppendStep, errno: string, target: string): void {
  const real = { ...fsx };
  const kinds = new Map<number, 'target' | 'dir'>();
  const track = (path: string, flags: number, fd: number) => {
    if (path === target) kinds.set(fd, 'target');
    else if ((flags & constants.O_DIRECTORY) !== 0) kinds.set(fd, 'dir');
    else kinds.delete(fd);
    return fd;
  };
  const overrides: Partial<FsSeam> = {
    open: async (path, flags, mode) => {
      if (step === 'open' && path === target) throw osError(errno, 'open');
      return track(path, flags, await real.open(path, flags, mode));
    },
    openSync: (path, flags, mode) => {
      if (step === 'open' && path === target) throw osError(errno, 'open');
      return track(path, flags, real.openSync(path, flags, mode));
    },
  };
  const failing = (fd: number) => {
    const kind = kinds.get(fd);
    return step === 'fsync-dir' ? kind === 'dir' : kind === 'target';
  };
  const on = (names: (keyof FsSeam)[]) => {
    for (const name of names) {
      const original = real[name] as (fd: number, ...rest: unknown[]) => unknown;
      (overrides as Record<string, unknown>)[name] = (fd: number, ...rest: unknown[]) => {
        if (!failing(fd)) return original(fd, ...rest);
        const isAsync = !name.endsWith('Sync');
        if (name.startsWith('close')) {
          // The descriptor is released even when close reports an error.
          real.closeSync(fd);
        }
        const error = osError(errno, name);
        return isAsync
          ? Promise.reject(error)
          : (() => {
              throw error;
            })();
      };
    }
  };
  switch (step) {
    case 'fsync-dir':
      on(['fsync', 'fsyncSync']);
      break;
    case 'fsync':
      on(['fdatasync', 'fdatasyncSync']);
      break;
    case 'truncate':
      on(['ftruncate', 'ftruncateSync']);
      break;
    case 'close':
      on(['close', 'closeSync']);
      break;
    case 'write': {
      let wroteHalf = false;
      const half = (text: string | Uint8Array) => {
        const bytes = typeof text === 'string' ? Buffer.from(text) : text;
        return bytes.subarray(0, Math.floor(bytes.byteLength / 2));
      };
      overrides.writeString = async (fd, text, position, encoding) => {
        if (!failing(fd)) return real.writeString(fd, text, position, encoding);
        if (wroteHalf) {
          wroteHalf = false;
          throw osError(errno, 'write');
        }
        wroteHalf = true;
        const part = half(text);
        return real.write(fd, part, 0, part.length, position);
      };
      overrides.writeStringSync = (fd, text, position, encoding) => {
        if (!failing(fd)) return real.writeStringSync(fd, text, position, encoding);
        if (wroteHalf) {
          wroteHalf = false;
          throw osError(errno, 'write');
        }
        wroteHalf = true;
        const part = half(text);
        return real.writeSync(fd, part, 0, part.length, position);
      };
      overrides.write = async (fd, data, offset, length, position) => {
        if (!failing(fd)) return real.write(fd, data, offset, length, position);
        if (wroteHalf) {
          wroteHalf = false;
          throw osError(errno, 'write');
        }
        wroteHalf = true;
        return real.write(fd, data, offset, Math.floor(length / 2), position);
      };
      overrides.writeSync = (fd, data, offset, length, position) => {
        if (!failing(fd)) return real.writeSync(fd, data, offset, length, position);
        if (wroteHalf) {
          wroteHalf = false;
          throw osError(errno, 'write');
        }
        wroteHalf = true;
        return real.writeSync(fd, data, offset, Math.floor(length / 2), position);
      };
      break;
    }
    case 'open':
      break;
  }
  patchFs(overrides);
}

async function caught(run: () => Promise<unknown> | unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return expect.fail('expected the call to fail');
}

function expectError(
  error: unknown,
  code: StoreErrorCode,
  step: AppendStep,
  target: string,
  errno: string,
) {
  expect(error).toBeInstanceOf(StoreError);
  const storeError = error as StoreError;
  expect(storeError.code).toBe(code);
  expect(storeError.step).toBe(step);
  expect(storeError.path).toBe(target);
  expect(storeError.message).toContain(target);
  expect((storeError.cause as NodeJS.ErrnoException).code).toBe(errno);
}

/** The async and sync ways to reach each step. */
const VARIANTS = [
  {
    name: 'async',
    open: (path: string) => openAppendFile(path),
    append: (file: AppendFile, data: string | Uint8Array) => file.append(data),
    truncate: (file: AppendFile, size: number) => file.truncate(size),
    close: (file: AppendFile) => file.close(),
    oneShot: (path: string, data: string | Uint8Array) => appendFileDurable(path, data),
  },
  {
    name: 'sync',
    open: async (path: string) => openAppendFileSync(path),
    append: async (file: AppendFile, data: string | Uint8Array) => file.appendSync(data),
    truncate: async (file: AppendFile, size: number) => file.truncateSync(size),
    close: async (file: AppendFile) => file.closeSync(),
    oneShot: async (path: string, data: string | Uint8Array) => appendFileDurableSync(path, data),
  },
] as const;

describe.each(VARIANTS)('$name appends under injected faults', (variant) => {
  for (const [errno, code] of ERRNOS) {
    describe(errno, () => {
      it(`at open: ${code}, file untouched`, async () => {
        const dir = freshDir();
        const target = join(dir, 'journal');
        writeFileSync(target, OLD);
        failAppendAt('open', errno, target);
        expectError(await caught(() => variant.open(target)), code, 'open', target, errno);
        expectError(
          await caught(() => variant.oneShot(target, RECORD)),
          code,
          'open',
          target,
          errno,
        );
        expect(readFileSync(target, 'utf8')).toBe(OLD);
      });

      it(`at fsync-dir of a new file: ${code}, the file is not left behind`, async () => {
        const dir = freshDir();
        const target = join(dir, 'journal');
        failAppendAt('fsync-dir', errno, target);
        expectError(await caught(() => variant.open(target)), code, 'fsync-dir', target, errno);
        expect(entries(dir)).toEqual([]);
        expectError(
          await caught(() => variant.oneShot(target, RECORD)),
          code,
          'fsync-dir',
          target,
          errno,
        );
        expect(entries(dir)).toEqual([]);
      });

      for (const step of ['write', 'fsync'] as const) {
        it(`at ${step}: ${code}, the file is byte-identical and the handle goes on`, async () => {
          const dir = freshDir();
          const target = join(dir, 'journal');
          writeFileSync(target, OLD);
          failAppendAt(step, errno, target);
          const file = await variant.open(target);
          for (const data of [RECORD, Buffer.from(RECORD)]) {
            expectError(await caught(() => variant.append(file, data)), code, step, target, errno);
            expect(readFileSync(target, 'utf8')).toBe(OLD);
            expect(file.size).toBe(OLD.length);
          }
          patchFs(REAL);
          await variant.append(file, 'record 3\n');
          await variant.close(file);
          expect(readFileSync(target, 'utf8')).toBe(`${OLD}record 3\n`);
        });

        it(`at ${step} in a one-shot append: ${code}, a file it created is removed`, async () => {
          const dir = freshDir();
          const existing = join(dir, 'existing');
          const fresh = join(dir, 'fresh');
          writeFileSync(existing, OLD);
          failAppendAt(step, errno, existing);
          expectError(
            await caught(() => variant.oneShot(existing, RECORD)),
            code,
            step,
            existing,
            errno,
          );
          expect(readFileSync(existing, 'utf8')).toBe(OLD);
          patchFs(REAL);
          failAppendAt(step, errno, fresh);
          expectError(await caught(() => variant.oneShot(fresh, RECORD)), code, step, fresh, errno);
          expect(entries(dir)).toEqual(['existing']);
        });
      }

      it(`at truncate: ${code}, the file is untouched`, async () => {
        const dir = freshDir();
        const target = join(dir, 'journal');
        writeFileSync(target, `${OLD}torn`);
        failAppendAt('truncate', errno, target);
        const file = await variant.open(target);
        expectError(
          await caught(() => variant.truncate(file, OLD.length)),
          code,
          'truncate',
          target,
          errno,
        );
        expect(readFileSync(target, 'utf8')).toBe(`${OLD}torn`);
        expect(file.size).toBe(OLD.length + 4);
        await variant.close(file);
      });

      it(`at close: ${code}, the appended bytes stay and the handle is closed`, async () => {
        const dir = freshDir();
        const target = join(dir, 'journal');
        writeFileSync(target, OLD);
        failAppendAt('close', errno, target);
        const file = await variant.open(target);
        await variant.append(file, RECORD);
        expectError(await caught(() => variant.close(file)), code, 'close', target, errno);
        expect(readFileSync(target, 'utf8')).toBe(OLD + RECORD);
        await expect(file.append('more')).rejects.toMatchObject({ code: 'CLOSED' });
        expect(existsSync(target)).toBe(true);
      });
    });
  }
});

/** The seam's members as they were before any test patched them. */
const REAL: Partial<FsSeam> = { ...fsx };
