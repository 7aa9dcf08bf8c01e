import {
  chownSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { entries, failAt, freshDir, osError, patchFs } from '../test/helpers.ts';
import { StoreError } from './errors.ts';
import { fsx } from './internal/fs.ts';
import { parseTempName, tempName } from './internal/temp-name.ts';
import { flushWrites, writeFileAtomic, writeFileAtomicSync } from './write.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

const isTemp = (path: string) => parseTempName(basename(path)) !== undefined;

/** Records the content of every temp file at the moment it is renamed into place. */
function recordRenames(): string[] {
  const landed: string[] = [];
  const real = { rename: fsx.rename, renameSync: fsx.renameSync };
  patchFs({
    renameSync: (from, to) => {
      if (isTemp(from) && !isTemp(to)) landed.push(readFileSync(from, 'utf8'));
      real.renameSync(from, to);
    },
    rename: async (from, to) => {
      if (isTemp(from) && !isTemp(to)) landed.push(readFileSync(from, 'utf8'));
      await real.rename(from, to);
    },
  });
  return landed;
}

/** Holds the fsync of temp files until `open()` is called. */
function gateFsync(): { open: () => void; reached: Promise<void> } {
  let release!: () => void;
  let reach!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const temps = new Set<number>();
  const real = { open: fsx.open, fsync: fsx.fsync };
  patchFs({
    open: async (path, flags, mode) => {
      const fd = await real.open(path, flags, mode);
      if (isTemp(path)) temps.add(fd);
      return fd;
    },
    fsync: async (fd) => {
      if (temps.has(fd)) {
        reach();
        await gate;
      }
      await real.fsync(fd);
    },
  });
  return { open: release, reached };
}

describe('writeFileAtomic', () => {
  it('writes strings and bytes and leaves nothing else in the folder', async () => {
    const dir = freshDir();
    const target = join(dir, 'out.txt');
    await writeFileAtomic(target, 'héllo\n');
    expect(readFileSync(target, 'utf8')).toBe('héllo\n');
    await writeFileAtomic(target, new Uint8Array([0, 1, 2, 255]));
    expect([...readFileSync(target)]).toEqual([0, 1, 2, 255]);
    await writeFileAtomic(target, 'aGk=', { encoding: 'base64' });
    expect(readFileSync(target, 'utf8')).toBe('hi');
    await writeFileAtomic(target, '');
    expect(readFileSync(target, 'utf8')).toBe('');
    expect(entries(dir)).toEqual(['out.txt']);
  });

  it('gives a new file mode 0o644 whatever the umask, or options.mode', async () => {
    const dir = freshDir();
    const previous = process.umask(0o077);
    try {
      await writeFileAtomic(join(dir, 'a'), 'a');
      writeFileAtomicSync(join(dir, 'b'), 'b');
      await writeFileAtomic(join(dir, 'c'), 'c', { mode: 0o660 });
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(dir, 'a')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(dir, 'b')).mode & 0o7777).toBe(0o644);
    expect(statSync(join(dir, 'c')).mode & 0o7777).toBe(0o660);
  });

  it("keeps an existing file's mode, over options.mode", async () => {
    const dir = freshDir();
    const target = join(dir, 'secret.json');
    writeFileSync(target, 'old', { mode: 0o600 });
    await writeFileAtomic(target, 'new', { mode: 0o644 });
    expect(statSync(target).mode & 0o7777).toBe(0o600);
    writeFileSync(join(dir, 'exec.sh'), '#!/bin/sh\n', { mode: 0o755 });
    writeFileAtomicSync(join(dir, 'exec.sh'), '#!/bin/sh\necho hi\n');
    expect(statSync(join(dir, 'exec.sh')).mode & 0o7777).toBe(0o755);
  });

  it.runIf(process.geteuid?.() === 0)(
    "keeps another user's ownership when run as root",
    async () => {
      const dir = freshDir();
      const target = join(dir, 'owned.json');
      writeFileSync(target, 'old');
      chownSync(target, 1234, 2345);
      await writeFileAtomic(target, 'new');
      expect(statSync(target)).toMatchObject({ uid: 1234, gid: 2345 });
      writeFileAtomicSync(target, 'newer');
      expect(statSync(target)).toMatchObject({ uid: 1234, gid: 2345 });
    },
  );

  describe('symlinked targets are written through and the link is kept', () => {
    it('with an absolute link, a relative link and a chain', async () => {
      const dir = freshDir();
      const realDir = join(dir, 'real');
      mkdirSync(realDir);
      const real = join(realDir, 'data.json');
      writeFileSync(real, 'old', { mode: 0o600 });
      symlinkSync(real, join(dir, 'absolute'));
      symlinkSync('real/data.json', join(dir, 'relative'));
      symlinkSync('relative', join(dir, 'chain'));

      await writeFileAtomic(join(dir, 'absolute'), 'one');
      expect(readFileSync(real, 'utf8')).toBe('one');
      writeFileAtomicSync(join(dir, 'relative'), 'two');
      expect(readFileSync(real, 'utf8')).toBe('two');
      await writeFileAtomic(join(dir, 'chain'), 'three');
      expect(readFileSync(real, 'utf8')).toBe('three');

      for (const link of ['absolute', 'relative', 'chain']) {
        expect(lstatSync(join(dir, link)).isSymbolicLink()).toBe(true);
      }
      expect(readlinkSync(join(dir, 'chain'))).toBe('relative');
      expect(statSync(real).mode & 0o7777).toBe(0o600);
      expect(entries(dir)).toEqual(['absolute', 'chain', 'real', 'relative']);
      expect(entries(realDir)).toEqual(['data.json']);
    });

    it('creates the file a dangling link points to', async () => {
      const dir = freshDir();
      symlinkSync('later.json', join(dir, 'link.json'));
      await writeFileAtomic(join(dir, 'link.json'), 'created');
      expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(dir, 'later.json'), 'utf8')).toBe('created');
    });
  });

  it('refuses a folder as target and a missing parent folder', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'sub'));
    await expect(writeFileAtomic(join(dir, 'sub'), 'x')).rejects.toMatchObject({
      code: 'IS_DIRECTORY',
      step: 'stat',
    });
    await expect(writeFileAtomic(join(dir, 'missing', 'x.json'), 'x')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      step: 'open',
    });
    expect(() => writeFileAtomicSync(join(dir, 'missing', 'x.json'), 'x')).toThrow(StoreError);
    expect(entries(dir)).toEqual(['sub']);
  });

  it('rejects misuse with a TypeError naming what was expected and given', async () => {
    await expect(writeFileAtomic(42 as never, 'x')).rejects.toThrow(
      /expected a non-empty path string, got 42 \(number\)/,
    );
    await expect(writeFileAtomic('/tmp/x', 7 as never)).rejects.toThrow(
      /expected data as a string or Uint8Array, got 7 \(number\)/,
    );
    await expect(writeFileAtomic('/tmp/x', 'x', { mode: 0o10000 })).rejects.toThrow(TypeError);
    await expect(writeFileAtomic('/tmp/x', 'x', { durability: 'max' as never })).rejects.toThrow(
      /expected options.durability 'none', 'file' or 'full', got "max"/,
    );
    expect(() => writeFileAtomicSync('', 'x')).toThrow(TypeError);
  });

  it('never follows a link planted at its temp name', async () => {
    const dir = freshDir();
    const victim = join(freshDir(), 'victim.txt');
    writeFileSync(victim, 'precious');
    // Fix the random part so the temp name can be predicted, then plant a link there.
    const planted = tempNameFor('target.json', 0.25);
    symlinkSync(victim, join(dir, planted));
    const randoms = [0.25, 0.75];
    vi.spyOn(Math, 'random').mockImplementation(() => randoms.shift() ?? 0.5);

    await writeFileAtomic(join(dir, 'target.json'), 'attacker cannot redirect this');
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(join(dir, 'target.json'), 'utf8')).toBe('attacker cannot redirect this');
    expect(entries(dir)).toEqual([planted, 'target.json'].sort());
  });

  describe('short writes', () => {
    /** Lets every write through the seam write at most 4096 bytes, and now and then just 1. */
    function capWrites(): { calls: number } {
      const counter = { calls: 0 };
      const real = { ...fsx };
      const cap = (length: number) => Math.min(length, counter.calls++ % 5 === 3 ? 1 : 4096);
      const encode = (text: string, encoding: BufferEncoding) => Buffer.from(text, encoding);
      patchFs({
        write: (fd, buffer, offset, length, position) =>
          real.write(fd, buffer, offset, cap(length), position),
        writeSync: (fd, buffer, offset, length, position) =>
          real.writeSync(fd, buffer, offset, cap(length), position),
        writeString: (fd, text, position, encoding) => {
          const bytes = encode(text, encoding);
          return real.write(fd, bytes, 0, cap(bytes.length), position);
        },
        writeStringSync: (fd, text, position, encoding) => {
          const bytes = encode(text, encoding);
          return real.writeSync(fd, bytes, 0, cap(bytes.length), position);
        },
      });
      return counter;
    }

    const bytes = new Uint8Array(100_003).map((_, i) => (i * 7) % 251);
    const text = Array.from(
      { length: 30_001 },
      (_, i) => [...String.fromCodePoint(0x61 + (i % 26), 0xe9, 0x1f600)][i % 3],
    ).join('');

    it.each([
      [
        'bytes, async',
        bytes,
        (path: string, data: Uint8Array | string) => writeFileAtomic(path, data),
      ],
      [
        'bytes, sync',
        bytes,
        async (path: string, data: Uint8Array | string) => writeFileAtomicSync(path, data),
      ],
      [
        'a string, async',
        text,
        (path: string, data: Uint8Array | string) => writeFileAtomic(path, data),
      ],
      [
        'a string, sync',
        text,
        async (path: string, data: Uint8Array | string) => writeFileAtomicSync(path, data),
      ],
    ] as const)('loops until every byte is written (%s)', async (_name, data, write) => {
      const dir = freshDir();
      const target = join(dir, 'big.bin');
      const counter = capWrites();
      await write(target, data);
      const expected = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
      expect(counter.calls).toBeGreaterThan(expected.length / 4096);
      expect(readFileSync(target).equals(expected)).toBe(true);
      expect(entries(dir)).toEqual(['big.bin']);
    });

    it('fails with IO rather than loop when a write makes no progress', async () => {
      const dir = freshDir();
      const target = join(dir, 'x');
      writeFileSync(target, 'old');
      patchFs({ write: async () => 0, writeString: async () => 0 });
      await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({
        code: 'IO',
        step: 'write',
      });
      expect(readFileSync(target, 'utf8')).toBe('old');
      expect(entries(dir)).toEqual(['x']);
    });
  });

  describe('durability', () => {
    function countFsyncs(): { file: number; dir: number } {
      const counts = { file: 0, dir: 0 };
      const kinds = new Map<number, 'file' | 'dir'>();
      const real = { ...fsx };
      const kind = (path: string) => (isTemp(path) ? 'file' : 'dir');
      patchFs({
        open: async (path, flags, mode) => {
          const fd = await real.open(path, flags, mode);
          kinds.set(fd, kind(path));
          return fd;
        },
        openSync: (path, flags, mode) => {
          const fd = real.openSync(path, flags, mode);
          kinds.set(fd, kind(path));
          return fd;
        },
        fsync: async (fd) => {
          counts[kinds.get(fd)!]++;
          await real.fsync(fd);
        },
        fsyncSync: (fd) => {
          counts[kinds.get(fd)!]++;
          real.fsyncSync(fd);
        },
      });
      return counts;
    }

    it.each([
      ['full', 1, 1],
      ['file', 1, 0],
      ['none', 0, 0],
    ] as const)('%s makes %i file fsync and %i folder fsync', async (durability, file, dirs) => {
      const dir = freshDir();
      writeFileSync(join(dir, 'x'), 'old');
      const counts = countFsyncs();
      await writeFileAtomic(join(dir, 'x'), 'new', { durability });
      expect(counts).toEqual({ file, dir: dirs });
      writeFileAtomicSync(join(dir, 'x'), 'newer', { durability });
      expect(counts).toEqual({ file: file * 2, dir: dirs * 2 });
      expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('newer');
      expect(entries(dir)).toEqual(['x']);
    });
  });

  describe('retries', () => {
    it('retries a transient error with a fresh temp name, then succeeds', async () => {
      const dir = freshDir();
      const opened: string[] = [];
      const real = fsx.open;
      let failures = 2;
      patchFs({
        open: async (path, flags, mode) => {
          if (isTemp(path)) {
            opened.push(path);
            if (failures-- > 0) throw osError('EBUSY', 'open');
          }
          return real(path, flags, mode);
        },
      });
      await writeFileAtomic(join(dir, 'x'), 'done');
      expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('done');
      expect(opened).toHaveLength(3);
      expect(new Set(opened).size).toBe(3);
    });

    it('gives up with BUSY after options.retries, and never retries other errors', async () => {
      const dir = freshDir();
      failAt('open', 'EMFILE');
      const attempts: number[] = [];
      const real = fsx.open;
      const failing = fsx.open;
      patchFs({
        open: async (path, flags, mode) => {
          if (isTemp(path)) attempts.push(1);
          return failing(path, flags, mode);
        },
      });
      await expect(writeFileAtomic(join(dir, 'x'), 'x', { retries: 2 })).rejects.toMatchObject({
        code: 'BUSY',
        step: 'open',
      });
      expect(attempts).toHaveLength(3);
      attempts.length = 0;
      patchFs({
        open: async (path, flags, mode) => {
          if (isTemp(path)) {
            attempts.push(1);
            throw osError('ENOSPC', 'open');
          }
          return real(path, flags, mode);
        },
      });
      await expect(writeFileAtomic(join(dir, 'x'), 'x')).rejects.toMatchObject({
        code: 'NO_SPACE',
      });
      expect(attempts).toHaveLength(1);
      expect(entries(dir)).toEqual([]);
    });
  });
});

describe('ordering and coalescing', () => {
  it('lands concurrent writes to one path in call order', async () => {
    const dir = freshDir();
    const target = join(dir, 'seq');
    const landed = recordRenames();
    const writes = Array.from({ length: 25 }, (_, i) => writeFileAtomic(target, String(i)));
    await Promise.all(writes);
    expect(landed).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
    expect(readFileSync(target, 'utf8')).toBe('24');
  });

  it('resolves each write only after its own rename', async () => {
    const dir = freshDir();
    const target = join(dir, 'seq');
    const seen: string[] = [];
    const writes = Array.from({ length: 10 }, (_, i) =>
      writeFileAtomic(target, String(i)).then(() => seen.push(readFileSync(target, 'utf8'))),
    );
    await Promise.all(writes);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });

  it('writes a same-tick burst once, with the latest data', async () => {
    const dir = freshDir();
    const target = join(dir, 'burst');
    const landed = recordRenames();
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => writeFileAtomic(target, String(i), { coalesce: true })),
    );
    expect(landed).toEqual(['499']);
  });

  it('resolves every caller only once data at least as new as its own is durable', async () => {
    const dir = freshDir();
    const target = join(dir, 'state');
    // What the folder fsync has made durable, observed at each folder fsync.
    let durable = -1;
    const real = { ...fsx };
    const dirFds = new Set<number>();
    patchFs({
      open: async (path, flags, mode) => {
        const fd = await real.open(path, flags, mode);
        if (path === dir) dirFds.add(fd);
        return fd;
      },
      openSync: (path, flags, mode) => {
        const fd = real.openSync(path, flags, mode);
        if (path === dir) dirFds.add(fd);
        return fd;
      },
      fsync: async (fd) => {
        await real.fsync(fd);
        if (dirFds.has(fd)) durable = Number(readFileSync(target, 'utf8'));
      },
    });
    const landed = recordRenames();
    const violations: string[] = [];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 80; i++) {
      const own = i;
      writes.push(
        writeFileAtomic(target, String(i), { coalesce: true }).then(() => {
          if (durable < own) violations.push(`${own} resolved with only ${durable} durable`);
        }),
      );
      // Spread the calls over many turns, sometimes during a write, sometimes between.
      if (i % 3 === 0) await new Promise((resolve) => setTimeout(resolve, i % 2));
      if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(writes);
    expect(violations).toEqual([]);
    expect(readFileSync(target, 'utf8')).toBe('79');
    expect(landed.length).toBeLessThan(80);
    // Landed values only ever increase.
    expect(landed.map(Number)).toEqual([...landed.map(Number)].sort((a, b) => a - b));
  });

  it('rejects every caller merged into a write that fails, and only them', async () => {
    const dir = freshDir();
    const target = join(dir, 'state');
    const gate = gateFsync();
    const first = writeFileAtomic(target, 'first', { coalesce: true });
    await gate.reached;
    const merged = [1, 2, 3].map((i) => writeFileAtomic(target, `m${i}`, { coalesce: true }));
    // The first write finishes normally; the merged one then meets a full disk.
    let fsyncs = 0;
    const realFsync = fsx.fsync;
    patchFs({
      fsync: async (fd) => {
        if (fsyncs++ === 1) throw osError('ENOSPC', 'fsync');
        return realFsync(fd);
      },
    });
    gate.open();
    await expect(first).resolves.toBeUndefined();
    const outcomes = await Promise.allSettled(merged);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reasons = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason);
    expect(reasons[0]).toBeInstanceOf(StoreError);
    expect(reasons[0]).toMatchObject({ code: 'NO_SPACE' });
    expect(readFileSync(target, 'utf8')).toBe('first');
  });

  it('never merges across a write that does not coalesce', async () => {
    const dir = freshDir();
    const target = join(dir, 'state');
    const landed = recordRenames();
    await Promise.all([
      writeFileAtomic(target, 'a', { coalesce: true }),
      writeFileAtomic(target, 'b', { coalesce: true }),
      writeFileAtomic(target, 'c'),
      writeFileAtomic(target, 'd', { coalesce: true }),
      writeFileAtomic(target, 'e', { coalesce: true }),
    ]);
    expect(landed).toEqual(['b', 'c', 'e']);
  });

  it('flushWrites waits for queued writes, per path or for all, and never rejects', async () => {
    const dir = freshDir();
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const settled: string[] = [];
    void writeFileAtomic(a, 'a1').then(() => settled.push('a1'));
    void writeFileAtomic(a, 'a2', { coalesce: true }).then(() => settled.push('a2'));
    void writeFileAtomic(b, 'b1').then(() => settled.push('b1'));
    await flushWrites(a);
    expect(settled).toEqual(expect.arrayContaining(['a1', 'a2']));
    expect(readFileSync(a, 'utf8')).toBe('a2');
    await flushWrites();
    expect(settled).toContain('b1');

    failAt('fsync', 'EIO');
    const failing = writeFileAtomic(b, 'b2');
    await expect(flushWrites(b)).resolves.toBeUndefined();
    await expect(failing).rejects.toMatchObject({ code: 'IO' });
    await expect(flushWrites(join(dir, 'never-written'))).resolves.toBeUndefined();
  });
});

describe('abort', () => {
  it('rejects at once when the signal has already fired, writing nothing', async () => {
    const dir = freshDir();
    const signal = AbortSignal.abort(new Error('stop'));
    await expect(writeFileAtomic(join(dir, 'x'), 'x', { signal })).rejects.toMatchObject({
      code: 'ABORTED',
      step: 'queue',
    });
    expect(entries(dir)).toEqual([]);
  });

  it('drops a queued write whose signal fires, and abandons a started one before its rename', async () => {
    const dir = freshDir();
    const target = join(dir, 'x');
    writeFileSync(target, 'old');
    const gate = gateFsync();
    const startedController = new AbortController();
    const queuedController = new AbortController();
    const started = writeFileAtomic(target, 'started', { signal: startedController.signal });
    const queued = writeFileAtomic(target, 'queued', { signal: queuedController.signal });
    await gate.reached;
    const queuedOutcome = expect(queued).rejects.toMatchObject({ code: 'ABORTED', step: 'queue' });
    queuedController.abort();
    await queuedOutcome;
    startedController.abort();
    gate.open();
    await expect(started).rejects.toMatchObject({ code: 'ABORTED', step: 'rename' });
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(entries(dir)).toEqual(['x']);
  });

  it('writes the newest data left when the newest merged caller aborts', async () => {
    const dir = freshDir();
    const target = join(dir, 'x');
    const gate = gateFsync();
    const first = writeFileAtomic(target, 'first', { coalesce: true });
    await gate.reached;
    const controller = new AbortController();
    const kept = writeFileAtomic(target, 'kept', { coalesce: true });
    const dropped = writeFileAtomic(target, 'dropped', {
      coalesce: true,
      signal: controller.signal,
    });
    const droppedOutcome = expect(dropped).rejects.toMatchObject({ code: 'ABORTED' });
    controller.abort();
    gate.open();
    await Promise.all([first, kept]);
    await droppedOutcome;
    expect(readFileSync(target, 'utf8')).toBe('kept');
  });
});

describe('writeFileAtomicSync', () => {
  it('writes at once and leaves nothing else', () => {
    const dir = freshDir();
    const target = join(dir, 'sync.json');
    writeFileAtomicSync(target, '{"a":1}');
    expect(readFileSync(target, 'utf8')).toBe('{"a":1}');
    writeFileAtomicSync(target, new Uint8Array([65]));
    expect(readFileSync(target, 'utf8')).toBe('A');
    expect(entries(dir)).toEqual(['sync.json']);
  });

  it('stays the last word over async writes queued or in flight', async () => {
    const dir = freshDir();
    const target = join(dir, 'state');
    const gate = gateFsync();
    const inFlight = writeFileAtomic(target, 'in flight');
    const queued = writeFileAtomic(target, 'queued');
    const coalesced = writeFileAtomic(target, 'coalesced', { coalesce: true });
    await gate.reached;
    writeFileAtomicSync(target, 'final');
    expect(readFileSync(target, 'utf8')).toBe('final');
    gate.open();
    await Promise.all([inFlight, queued, coalesced]);
    await flushWrites(target);
    expect(readFileSync(target, 'utf8')).toBe('final');
    expect(entries(dir)).toEqual(['state']);
  });
});

function tempNameFor(base: string, random: number): string {
  const spy = vi.spyOn(Math, 'random').mockReturnValue(random);
  try {
    return tempName(base);
  } finally {
    spy.mockRestore();
  }
}
