import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, FAULT_STEPS, failAt, freshDir, osError, patchFs } from '../test/helpers.ts';
import { StoreError, type StoreErrorCode } from './errors.ts';
import { fsx } from './internal/fs.ts';
import { parseTempName } from './internal/temp-name.ts';
import { writeFileAtomic, writeFileAtomicSync } from './write.ts';

const ERRNOS: [string, StoreErrorCode][] = [
  ['ENOSPC', 'NO_SPACE'],
  ['EACCES', 'PERMISSION_DENIED'],
  ['EROFS', 'READ_ONLY'],
  ['EIO', 'IO'],
];

const OLD = '{"version": "old"}\n';
const NEW = `{"version": "new", "padding": "${'n'.repeat(20_000)}"}\n`;

describe.each([
  ['writeFileAtomic', (path: string, data: string) => writeFileAtomic(path, data)],
  [
    'writeFileAtomicSync',
    async (path: string, data: string) => {
      writeFileAtomicSync(path, data);
    },
  ],
] as const)('%s under injected faults', (_name, write) => {
  for (const step of FAULT_STEPS) {
    for (const [errno, code] of ERRNOS) {
      it(`${errno} at ${step}: ${code}, target untouched, no temp file left`, async () => {
        const dir = freshDir();
        const target = join(dir, 'state.json');
        writeFileSync(target, OLD);
        chmodSync(target, 0o640);
        failAt(step, errno);

        const error = await write(target, NEW).then(
          () => undefined,
          (caught: unknown) => caught,
        );

        expect(error).toBeInstanceOf(StoreError);
        const storeError = error as StoreError;
        expect(storeError.code).toBe(code);
        expect(storeError.step).toBe(step);
        expect(storeError.path).toBe(target);
        expect((storeError.cause as NodeJS.ErrnoException).code).toBe(errno);
        expect(readFileSync(target, 'utf8')).toBe(OLD);
        expect(statSync(target).mode & 0o7777).toBe(0o640);
        expect(entries(dir)).toEqual(['state.json']);
      });
    }
  }

  it.each(FAULT_STEPS)(
    'EIO at %s when the target is new: it still does not exist',
    async (step) => {
      const dir = freshDir();
      const target = join(dir, 'fresh.json');
      failAt(step, 'EIO');
      await expect(write(target, NEW)).rejects.toMatchObject({ code: 'IO', step });
      expect(entries(dir)).toEqual([]);
    },
  );

  it('succeeds once the fault is gone', async () => {
    const dir = freshDir();
    const target = join(dir, 'state.json');
    writeFileSync(target, OLD);
    failAt('fsync', 'EIO', 1);
    await expect(write(target, NEW)).rejects.toMatchObject({ code: 'IO', step: 'fsync' });
    await write(target, NEW);
    expect(readFileSync(target, 'utf8')).toBe(NEW);
    expect(entries(dir)).toEqual(['state.json']);
  });
});

describe('the seam', () => {
  const isTemp = (path: string) => parseTempName(basename(path)) !== undefined;

  it('reaches an async write through the asynchronous member alone', async () => {
    const dir = freshDir();
    const target = join(dir, 'state.json');
    writeFileSync(target, OLD);
    const real = fsx.rename;
    patchFs({
      rename: async (from, to) => {
        if (isTemp(from)) throw osError('EIO', 'rename');
        return real(from, to);
      },
    });
    await expect(writeFileAtomic(target, NEW)).rejects.toMatchObject({
      code: 'IO',
      step: 'rename',
    });
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(entries(dir)).toEqual(['state.json']);
  });

  it('reaches both variants through the synchronous member', async () => {
    const dir = freshDir();
    const target = join(dir, 'state.json');
    writeFileSync(target, OLD);
    let failures = 0;
    patchFs({
      fchmodSync: (fd, mode) => {
        failures++;
        throw osError('EPERM', `fchmod ${fd} ${mode}`);
      },
    });
    expect(() => writeFileAtomicSync(target, NEW)).toThrow(StoreError);
    await expect(writeFileAtomic(target, NEW)).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      step: 'chmod',
    });
    expect(failures).toBe(2);
    expect(readFileSync(target, 'utf8')).toBe(OLD);
    expect(entries(dir)).toEqual(['state.json']);
  });
});
