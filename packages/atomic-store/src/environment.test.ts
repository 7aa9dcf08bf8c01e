import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failAt, freshDir } from '../test/helpers.ts';
import { environmentProblem } from './environment.ts';
import { StoreError } from './errors.ts';
import { writeFileAtomic } from './write.ts';

const unmount: string[] = [];
afterEach(() => {
  while (unmount.length > 0) execFileSync('umount', [unmount.pop()!]);
});

async function failureOf(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail');
}

describe('environmentProblem', () => {
  it('finds a full disk behind a failed write', async () => {
    const dir = freshDir();
    failAt('write', 'ENOSPC');
    const error = await failureOf(writeFileAtomic(join(dir, 'a.json'), 'x'));
    expect(error).toBeInstanceOf(StoreError);
    expect(environmentProblem(error)).toBe('NO_SPACE');
  });

  it('finds a file standing where a folder is needed through the cause chain', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'file'), '');
    const error = await failureOf(writeFileAtomic(join(dir, 'file', 'a.json'), 'x'));
    // The store reports NOT_FOUND; its cause, ENOTDIR, says why.
    expect((error as StoreError).code).toBe('NOT_FOUND');
    expect(environmentProblem(error)).toBe('NOT_A_FOLDER');
    // Wrapped again, as a package above would.
    const wrapped = new Error('cannot save', {
      cause: new Error('write failed', { cause: error }),
    });
    expect(environmentProblem(wrapped)).toBe('NOT_A_FOLDER');
  });

  it('maps each errno and leaves other errors alone', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(environmentProblem(withCode('EDQUOT'))).toBe('NO_SPACE');
    expect(environmentProblem(withCode('EROFS'))).toBe('READ_ONLY');
    expect(environmentProblem(withCode('EACCES'))).toBe('PERMISSION_DENIED');
    expect(environmentProblem(withCode('EPERM'))).toBe('PERMISSION_DENIED');
    expect(environmentProblem(withCode('READ_ONLY'))).toBe('READ_ONLY');
    expect(environmentProblem(withCode('ENOENT'))).toBeUndefined();
    expect(environmentProblem(withCode('EIO'))).toBeUndefined();
    expect(environmentProblem(new Error('plain'))).toBeUndefined();
    expect(environmentProblem('text')).toBeUndefined();
    expect(environmentProblem(undefined)).toBeUndefined();
  });

  it('asks the nearest existing folder of a path that could not be created', () => {
    const dir = freshDir();
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    let expected: string;
    if (process.getuid?.() === 0) {
      // Root ignores file modes: a read-only mount is the honest way to refuse the write.
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', locked], {
          stdio: 'pipe',
        });
      } catch (error) {
        if (process.env.CI === 'true') throw error;
        console.warn(`SKIPPED: cannot mount a tmpfs here (${(error as Error).message})`);
        return;
      }
      unmount.push(locked);
      expected = 'READ_ONLY';
    } else {
      chmodSync(locked, 0o500);
      expected = 'PERMISSION_DENIED';
    }
    const missing = join(locked, 'plan', '001_abc');
    const error = Object.assign(new Error('cannot create'), { code: 'ENOENT' });
    expect(environmentProblem(error, { path: missing })).toBe(expected);
    expect(environmentProblem(error)).toBeUndefined();
    expect(environmentProblem(error, { path: join(dir, 'free', 'plan') })).toBeUndefined();
  });
});
