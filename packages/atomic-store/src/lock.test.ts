import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries, freshDir, osError, patchFs } from '../test/helpers.ts';
import { StoreError } from './errors.ts';
import { acquireLock, type LockHolder, readLockHolder } from './lock.ts';

const DEAD_PID = 4_194_305;

function plantLock(path: string, holder: Partial<LockHolder>, ageMs = 0): LockHolder {
  const full: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    token: `planted-${Math.random().toString(36).slice(2)}`,
    ...holder,
  };
  writeFileSync(path, `${JSON.stringify(full)}\n`);
  if (ageMs > 0) {
    const then = new Date(Date.now() - ageMs);
    utimesSync(path, then, then);
  }
  return full;
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

describe('acquireLock', () => {
  it('writes the holder into the lock file and removes it on release', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const lock = await acquireLock(path);
    expect(lock.path).toBe(path);
    expect(lock.holder).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(Number.isNaN(Date.parse(lock.holder.startedAt))).toBe(false);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(lock.holder);
    expect(await readLockHolder(path)).toEqual(lock.holder);
    expect(entries(dir)).toEqual(['run.lock']);
    await lock.release();
    await lock.release();
    lock.releaseSync();
    expect(existsSync(path)).toBe(false);
    expect(await readLockHolder(path)).toBeUndefined();
  });

  it('fails LOCKED, naming the holder, while another holder is alive', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const first = await acquireLock(path);
    const error = await acquireLock(path).catch((caught) => caught);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'LOCKED', step: 'lock', path, holder: first.holder });
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toContain(hostname());
    first.releaseSync();
    const second = await acquireLock(path);
    second.releaseSync();
    second.releaseSync();
    expect(existsSync(path)).toBe(false);
  });

  it('waits for a number of milliseconds, or until the lock is released', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const first = await acquireLock(path);
    const started = Date.now();
    await expect(acquireLock(path, { wait: 150, retryIntervalMs: 20 })).rejects.toMatchObject({
      code: 'LOCKED',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    setTimeout(() => void first.release(), 80);
    const second = await acquireLock(path, { wait: true, retryIntervalMs: 10 });
    expect(second.holder.token).not.toBe(first.holder.token);
    await second.release();
  });

  it('stops waiting with ABORTED when the signal fires', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const first = await acquireLock(path);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    await expect(
      acquireLock(path, { wait: true, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'ABORTED', step: 'lock' });
    await first.release();
  });

  describe('stale locks', () => {
    it('takes over a lock whose holder died on this host', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      plantLock(path, { pid: DEAD_PID });
      const lock = await acquireLock(path);
      expect(await readLockHolder(path)).toEqual(lock.holder);
      expect(entries(dir)).toEqual(['run.lock']);
      await lock.release();
    });

    it('takes over a lock older than staleMs, even from a live or remote holder', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      plantLock(path, { hostname: 'elsewhere', pid: 1 }, 5_000);
      const lock = await acquireLock(path, { staleMs: 1_000 });
      await lock.release();
      plantLock(path, { pid: process.pid }, 5_000);
      const again = await acquireLock(path, { staleMs: 1_000 });
      await again.release();
    });

    it('leaves a fresh lock of another host alone, whatever its pid', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      const planted = plantLock(path, { hostname: 'elsewhere', pid: DEAD_PID });
      await expect(acquireLock(path)).rejects.toMatchObject({ code: 'LOCKED', holder: planted });
    });

    it('takes over a lock taken before this machine booted', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      plantLock(path, { startedAt: '2001-01-01T00:00:00.000Z' });
      const lock = await acquireLock(path);
      await lock.release();
    });

    it.runIf(process.platform === 'linux')(
      'takes over a lock whose pid now belongs to a newer process, or to a zombie',
      async () => {
        const dir = freshDir();
        const path = join(dir, 'run.lock');
        const newer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], {
          stdio: 'ignore',
        });
        // The background subshell exits once the shell has become `sleep 120`, which never reaps
        // it (the test kills it when done, long before that). Exiting any earlier would let the
        // shell reap it before its exec, about one time in twenty with `sleep 0 &`: no zombie.
        const shell = spawn(
          'sh',
          [
            '-c',
            '{ while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.01; done; } & echo $!; exec sleep 120',
          ],
          { stdio: ['ignore', 'pipe', 'ignore'] },
        );
        try {
          const line = await new Promise<Buffer>((resolve) => shell.stdout.once('data', resolve));
          const zombie = Number(String(line).trim());
          // The subshell needs a moment to see the exec and exit before it is a zombie: wait for
          // that, for as long as the test's own timeout allows.
          while (!isZombie(zombie)) await new Promise((resolve) => setTimeout(resolve, 10));
          plantLock(path, {
            pid: newer.pid!,
            startedAt: new Date(Date.now() - 60_000).toISOString(),
          });
          const first = await acquireLock(path);
          await first.release();
          // Taken after the zombie's process started: only its zombie state makes it stale.
          plantLock(path, { pid: zombie, startedAt: new Date().toISOString() });
          const second = await acquireLock(path);
          await second.release();
        } finally {
          newer.kill('SIGKILL');
          shell.kill('SIGKILL');
        }
      },
    );

    it.runIf(process.platform === 'linux')(
      'takes over a lock whose pid was reused moments after it was taken: the start ticks differ',
      async () => {
        const dir = freshDir();
        const path = join(dir, 'run.lock');
        const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], {
          stdio: 'ignore',
        });
        try {
          const stat = readFileSync(`/proc/${other.pid}/stat`, 'utf8');
          const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
          // The pid is alive and its process started just now, as the lock claims it was taken:
          // only the start ticks recorded by the holder tell that this is another process.
          const holder = plantLock(path, { pid: other.pid!, startTicks: ticks });
          await expect(acquireLock(path)).rejects.toMatchObject({ code: 'LOCKED', holder });
          plantLock(path, { pid: other.pid!, startTicks: ticks - 1 });
          const lock = await acquireLock(path);
          expect(lock.holder.startTicks).toBeTypeOf('number');
          expect(lock.holder.pid).toBe(process.pid);
          await lock.release();
        } finally {
          other.kill('SIGKILL');
        }
      },
    );

    it('skips a guard abandoned by a dead taker and cleans every guard up', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      const stale = plantLock(path, { pid: DEAD_PID });
      const digest = createHash('sha256').update(stale.token).digest('hex').slice(0, 16);
      writeFileSync(
        join(dir, `.run.lock.takeover-${digest}-0`),
        JSON.stringify({ pid: DEAD_PID, hostname: hostname(), startedAt: '', token: 'x' }),
      );
      const lock = await acquireLock(path);
      expect(entries(dir)).toEqual(['run.lock']);
      await lock.release();
    });

    it('skips an empty guard, as a taker killed between creating and filling it left one', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      const stale = plantLock(path, { pid: DEAD_PID });
      const digest = createHash('sha256').update(stale.token).digest('hex').slice(0, 16);
      writeFileSync(join(dir, `.run.lock.takeover-${digest}-0`), '');
      // Not asked to wait: the lock is free to take now, not LOCKED after a takeover's grace.
      const lock = await acquireLock(path, { wait: false });
      expect(lock.holder.pid).toBe(process.pid);
      expect(entries(dir)).toEqual(['run.lock']);
      await lock.release();
    });

    it('never lets a released-late holder remove its successor', async () => {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      const old = await acquireLock(path, { refresh: false });
      const past = new Date(Date.now() - 60_000);
      utimesSync(path, past, past);
      const successor = await acquireLock(path, { staleMs: 30_000 });
      await old.release();
      old.releaseSync();
      expect(await readLockHolder(path)).toEqual(successor.holder);
      await successor.release();
    });
  });

  it('refreshes a held lock so it does not go stale', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const lock = await acquireLock(path, { staleMs: 900 });
    const created = statSync(path).mtimeMs;
    // Wait until the lock is older than staleMs and has been touched since it was created (the
    // timer touches it every staleMs / 3); then a second taker must still find it fresh.
    const since = Date.now();
    while (Date.now() - since < 1_200 || statSync(path).mtimeMs <= created) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect(acquireLock(path, { staleMs: 900 })).rejects.toMatchObject({ code: 'LOCKED' });
    await lock.release();
  });

  it('does not touch the lock every millisecond when staleMs / 3 is more than a timer holds', async () => {
    // setInterval with more than 2 ** 31 - 1 ms (Infinity too) fires every millisecond.
    for (const staleMs of [Number.POSITIVE_INFINITY, 7_000_000_000]) {
      const dir = freshDir();
      const path = join(dir, 'run.lock');
      const lock = await acquireLock(path, { staleMs });
      // An old time that any touch would replace.
      utimesSync(path, 1_000_000, 1_000_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect({ staleMs, mtimeMs: statSync(path).mtimeMs }).toEqual({
        staleMs,
        mtimeMs: 1_000_000_000,
      });
      await lock.release();
    }
  });

  it('reports a lock lost while held, without throwing from its timer', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    const seen: StoreError[] = [];
    const lock = await acquireLock(path, {
      staleMs: 90,
      onCompromised: (error) => {
        seen.push(error);
        throw new Error('a callback that throws must not crash anything');
      },
    });
    const intruder = plantLock(path, { pid: DEAD_PID });
    await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
    // Later refreshes would have had a chance to report it again.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'LOCK_LOST', holder: intruder });
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBe(seen[0]);
    await lock.release();
    expect(await readLockHolder(path)).toEqual(intruder);
  });

  it('reads a malformed lock file as INVALID_JSON', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    writeFileSync(path, 'garbage');
    await expect(readLockHolder(path)).rejects.toMatchObject({ code: 'INVALID_JSON' });
  });

  it('rejects misuse with TypeErrors', async () => {
    await expect(acquireLock('')).rejects.toThrow(TypeError);
    await expect(acquireLock('/tmp/x.lock', { staleMs: 0 })).rejects.toThrow(
      /expected options.staleMs as a positive number, got 0 \(number\)/,
    );
    await expect(acquireLock('/tmp/x.lock', { wait: 'long' as never })).rejects.toThrow(TypeError);
  });

  // Last: once hard links are found missing, the module keeps using exclusive create.
  it('works on file systems without hard links', async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    patchFs({
      link: async () => {
        throw osError('EPERM', 'link');
      },
    });
    const lock = await acquireLock(path);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(lock.holder);
    await expect(acquireLock(path)).rejects.toMatchObject({ code: 'LOCKED' });
    await lock.release();
    expect(entries(dir)).toEqual([]);
  });
});
