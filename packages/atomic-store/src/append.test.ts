import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, freshDir, osError, patchFs } from '../test/helpers.ts';
import {
  appendFileDurable,
  appendFileDurableSync,
  openAppendFile,
  openAppendFileSync,
} from './append.ts';
import { StoreError } from './errors.ts';
import { fsx } from './internal/fs.ts';

/** Holds every fdatasync until `open()` is called; `reached` resolves at the first one. */
function gateDatasync(): { open: () => void; reached: Promise<void> } {
  let release!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const real = fsx.fdatasync;
  patchFs({
    fdatasync: async (fd) => {
      reach();
      await gate;
      return real(fd);
    },
  });
  return { open: release, reached };
}

describe('openAppendFile', () => {
  it('creates a missing file, appends in call order and knows the size', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const file = await openAppendFile(target);
    expect(file.path).toBe(target);
    expect(file.size).toBe(0);
    expect(entries(dir)).toEqual(['events.log']);

    const done = [file.append('one\n'), file.append(Buffer.from('two\n')), file.append('drei ü\n')];
    await Promise.all(done);
    expect(readFileSync(target, 'utf8')).toBe('one\ntwo\ndrei ü\n');
    expect(file.size).toBe(Buffer.byteLength('one\ntwo\ndrei ü\n'));
    await file.close();
  });

  it('appends after the existing content and keeps the mode', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    writeFileSync(target, 'before\n', { mode: 0o600 });
    const file = await openAppendFile(target, { mode: 0o644 });
    expect(file.size).toBe(7);
    await file.append('after\n');
    file.appendSync('sync\n');
    await file.close();
    expect(readFileSync(target, 'utf8')).toBe('before\nafter\nsync\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  it('gives a new file the mode asked for, narrowed by the umask', async () => {
    const dir = freshDir();
    const target = join(dir, 'new.log');
    const umask = process.umask();
    (await openAppendFile(target, { mode: 0o640 })).closeSync();
    expect(statSync(target).mode & 0o777).toBe(0o640 & ~umask);
  });

  it('resolves a relative path and writes through a symbolic link', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'real.log'), 'a\n');
    symlinkSync('real.log', join(dir, 'link.log'));
    const file = openAppendFileSync(relative(process.cwd(), join(dir, 'link.log')));
    expect(file.path).toBe(join(dir, 'link.log'));
    file.appendSync('b\n');
    file.closeSync();
    expect(readFileSync(join(dir, 'real.log'), 'utf8')).toBe('a\nb\n');
  });

  it('refuses a folder and a missing parent with typed errors', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'sub'));
    await expect(openAppendFile(join(dir, 'sub'))).rejects.toMatchObject({
      code: 'IS_DIRECTORY',
      step: 'open',
      path: join(dir, 'sub'),
    });
    expect(() => openAppendFileSync(join(dir, 'missing', 'x.log'))).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', step: 'open' }),
    );
  });

  it('throws TypeError for bad arguments', async () => {
    const dir = freshDir();
    await expect(openAppendFile('')).rejects.toThrow(TypeError);
    await expect(openAppendFile(join(dir, 'x'), { mode: -1 })).rejects.toThrow(
      /expected options\.mode/,
    );
    const file = openAppendFileSync(join(dir, 'x'));
    await expect(file.append(42 as unknown as string)).rejects.toThrow(
      /expected data as a string or Uint8Array, got 42 \(number\)/,
    );
    expect(() => file.truncateSync(-1)).toThrow(TypeError);
    expect(() => file.truncateSync(5)).toThrow(/expected a size from 0 to 0/);
    file.closeSync();
  });
});

describe('truncate', () => {
  it('cuts a torn tail, and appends continue from there', async () => {
    const dir = freshDir();
    const target = join(dir, 'journal');
    writeFileSync(target, 'whole\ntor');
    const file = await openAppendFile(target);
    await file.truncate(6);
    expect(file.size).toBe(6);
    await file.append('next\n');
    file.truncateSync(11);
    file.appendSync('last\n');
    await file.close();
    expect(readFileSync(target, 'utf8')).toBe('whole\nnext\nlast\n');
  });
});

describe('close', () => {
  it('waits for queued appends, is idempotent, and later calls fail CLOSED', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const file = await openAppendFile(target);
    const appended = file.append('queued\n');
    const closed = file.close();
    expect(file.close()).toBe(closed);
    await expect(file.append('late\n')).rejects.toMatchObject({
      code: 'CLOSED',
      step: 'queue',
      path: target,
    });
    expect(() => file.appendSync('late\n')).toThrow(StoreError);
    await appended;
    await closed;
    file.closeSync();
    expect(readFileSync(target, 'utf8')).toBe('queued\n');
  });
});

describe('appendSync while asynchronous appends are pending', () => {
  it('completes them first, in order, and their promises resolve', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const file = await openAppendFile(target);
    const gate = gateDatasync();
    const first = file.append('1\n');
    const second = file.append('2\n');
    await gate.reached;
    file.appendSync('3\n');
    expect(readFileSync(target, 'utf8')).toBe('1\n2\n3\n');
    expect(file.size).toBe(6);
    gate.open();
    await Promise.all([first, second]);
    await file.append('4\n');
    file.closeSync();
    expect(readFileSync(target, 'utf8')).toBe('1\n2\n3\n4\n');
  });

  it('closeSync completes pending appends and closes once the running call returns', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const file = await openAppendFile(target);
    const gate = gateDatasync();
    const first = file.append('1\n');
    const second = file.append('2\n');
    await gate.reached;
    file.closeSync();
    expect(readFileSync(target, 'utf8')).toBe('1\n2\n');
    gate.open();
    await Promise.all([first, second]);
    await expect(file.append('3\n')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('when redoing the running append fails, the rest wait for its call and still land', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    writeFileSync(target, '0\n');
    const file = await openAppendFile(target);
    const gate = gateDatasync();
    const first = file.append('1\n');
    const second = file.append('2\n');
    await gate.reached;
    const realSync = fsx.fdatasyncSync;
    patchFs({
      fdatasyncSync: () => {
        throw osError('EIO', 'fdatasync');
      },
    });
    expect(() => file.appendSync('3\n')).toThrow(
      expect.objectContaining({ code: 'BUSY', step: 'write', path: target }),
    );
    await expect(first).rejects.toMatchObject({ code: 'IO', step: 'fsync', path: target });
    expect(readFileSync(target, 'utf8')).toBe('0\n');
    // Until the running call returns, a sync call cannot know where the file ends.
    expect(() => file.appendSync('3\n')).toThrow(expect.objectContaining({ code: 'BUSY' }));
    patchFs({ fdatasyncSync: realSync });
    gate.open();
    await second;
    file.appendSync('3\n');
    await file.close();
    expect(readFileSync(target, 'utf8')).toBe('0\n2\n3\n');
  });

  it('truncateSync refuses to cut under a running call', async () => {
    const dir = freshDir();
    const file = await openAppendFile(join(dir, 'events.log'));
    const gate = gateDatasync();
    const first = file.append('1\n');
    await gate.reached;
    expect(() => file.truncateSync(0)).toThrow(expect.objectContaining({ code: 'BUSY' }));
    gate.open();
    await first;
    file.truncateSync(0);
    file.closeSync();
  });
});

describe('failed appends', () => {
  it('a short write then ENOSPC leaves the file as it was, and the handle goes on', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    writeFileSync(target, 'kept\n');
    const file = await openAppendFile(target);
    const real = fsx.write;
    let calls = 0;
    patchFs({
      writeString: async (fd, text, position) => {
        // Half the record lands, as on a disk that fills up mid-write.
        const half = Buffer.from(text).subarray(0, 3);
        return real(fd, half, 0, half.length, position);
      },
      write: async () => {
        calls++;
        throw osError('ENOSPC', 'write');
      },
    });
    await expect(file.append('partial record\n')).rejects.toMatchObject({
      code: 'NO_SPACE',
      step: 'write',
      path: target,
    });
    expect(calls).toBe(1);
    expect(readFileSync(target, 'utf8')).toBe('kept\n');
    expect(file.size).toBe(5);
  });

  it('when the tail cannot be cut, the next append cuts it first or says so', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const file = await openAppendFile(target);
    await file.append('a\n');
    const real = { fdatasync: fsx.fdatasync, ftruncate: fsx.ftruncate };
    let failTruncate = 2;
    patchFs({
      fdatasync: async () => {
        throw osError('EIO', 'fdatasync');
      },
      ftruncate: async (fd, length) => {
        if (failTruncate-- > 0) throw osError('EIO', 'ftruncate');
        return real.ftruncate(fd, length);
      },
    });
    await expect(file.append('lost\n')).rejects.toMatchObject({ code: 'IO', step: 'fsync' });
    expect(readFileSync(target, 'utf8')).toBe('a\nlost\n');
    await expect(file.append('b\n')).rejects.toMatchObject({ code: 'IO', step: 'truncate' });
    patchFs({ fdatasync: real.fdatasync });
    await file.append('b\n');
    expect(readFileSync(target, 'utf8')).toBe('a\nb\n');
    await file.close();
  });

  it('an aborted signal cuts an append back and fails later ones', async () => {
    const dir = freshDir();
    const target = join(dir, 'events.log');
    const controller = new AbortController();
    const file = await openAppendFile(target, { signal: controller.signal });
    const real = fsx.writeString;
    patchFs({
      writeString: async (...args) => {
        const written = await real(...args);
        controller.abort();
        return written;
      },
    });
    await expect(file.append('x\n')).rejects.toMatchObject({ code: 'ABORTED', step: 'fsync' });
    expect(readFileSync(target, 'utf8')).toBe('');
    await expect(file.append('y\n')).rejects.toMatchObject({ code: 'ABORTED', step: 'write' });
    // The synchronous variant is for last moments: it ignores the signal.
    file.appendSync('z\n');
    await file.close();
    expect(readFileSync(target, 'utf8')).toBe('z\n');
  });
});

describe('appendFileDurable', () => {
  it('creates, appends and closes in one call, async and sync', async () => {
    const dir = freshDir();
    const target = join(dir, 'one-shot.log');
    await appendFileDurable(target, 'a\n');
    appendFileDurableSync(target, new Uint8Array([98, 10]));
    await appendFileDurable(target, '');
    expect(readFileSync(target, 'utf8')).toBe('a\nb\n');
  });

  it('removes a file it created when the append fails', async () => {
    const dir = freshDir();
    const target = join(dir, 'one-shot.log');
    patchFs({
      fdatasyncSync: () => {
        throw osError('EIO', 'fdatasync');
      },
    });
    expect(() => appendFileDurableSync(target, 'a\n')).toThrow(
      expect.objectContaining({ code: 'IO', step: 'fsync', path: target }),
    );
    expect(entries(dir)).toEqual([]);
  });
});
