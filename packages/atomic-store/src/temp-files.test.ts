import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entries, freshDir, patchFs } from '../test/helpers.ts';
import { fsx } from './internal/fs.ts';
import { hostTag, parseTempName, tempName } from './internal/temp-name.ts';
import { sweepTempFiles } from './temp-files.ts';
import { writeFileAtomic } from './write.ts';

/** Above Linux's largest possible pid_max (2^22), so no process can have it. */
const DEAD_PID = 4_194_305;

const children: ChildProcess[] = [];
afterEach(() => {
  while (children.length > 0) children.pop()!.kill('SIGKILL');
});

describe('temp names', () => {
  it('have a fixed-length suffix and never exceed 255 bytes', () => {
    const short = tempName('a.json');
    expect(short).toMatch(/^\.a\.json\.[0-9a-z]{6}-[0-9a-z]{7}-[0-9a-z]{8}\.tmp$/);
    for (const base of ['x'.repeat(255), 'é'.repeat(200), '😀'.repeat(100)]) {
      const name = tempName(base);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(name.includes('\uFFFD')).toBe(false);
      expect(parseTempName(name)).toMatchObject({ pid: process.pid });
    }
  });

  it('say which process on which host wrote them', () => {
    const name = tempName('data.json', 12345, hostTag('build-host'));
    expect(parseTempName(name)).toEqual({
      base: 'data.json',
      tag: hostTag('build-host'),
      pid: 12345,
    });
    expect(parseTempName('.data.json.tmp')).toBeUndefined();
    expect(parseTempName('data.json')).toBeUndefined();
  });
});

describe('sweepTempFiles', () => {
  it("removes dead writers' leftovers only, never a live writer's", async () => {
    const dir = freshDir();
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
      stdio: 'ignore',
    });
    children.push(sleeper);
    const mine = tempName('a.json');
    const live = tempName('a.json', sleeper.pid!);
    const dead = tempName('a.json', DEAD_PID);
    const foreign = tempName('a.json', DEAD_PID, hostTag('some-other-host'));
    const unrelated = '.a.json.tmp';
    for (const name of [mine, live, dead, foreign, unrelated, 'a.json']) {
      writeFileSync(join(dir, name), 'x');
    }
    const deadFolder = tempName('b.json', DEAD_PID);
    mkdirSync(join(dir, deadFolder));

    const removed = await sweepTempFiles(dir);

    expect(removed).toEqual([join(dir, dead)]);
    expect(entries(dir)).toEqual([mine, live, foreign, unrelated, 'a.json', deadFolder].sort());
  });

  it.runIf(process.platform === 'linux')(
    'removes a leftover whose pid now belongs to a newer process',
    async () => {
      const dir = freshDir();
      const newer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
        stdio: 'ignore',
      });
      children.push(newer);
      const reused = tempName('a.json', newer.pid!);
      const current = tempName('b.json', newer.pid!);
      writeFileSync(join(dir, reused), 'x');
      writeFileSync(join(dir, current), 'x');
      const aMinuteAgo = new Date(Date.now() - 60_000);
      utimesSync(join(dir, reused), aMinuteAgo, aMinuteAgo);
      expect(await sweepTempFiles(dir)).toEqual([join(dir, reused)]);
      expect(entries(dir)).toEqual([current]);
    },
  );

  it("removes another host's leftovers only when old enough, with olderThanMs", async () => {
    const dir = freshDir();
    const oldForeign = tempName('a.json', 77, hostTag('other'));
    const newForeign = tempName('a.json', 78, hostTag('other'));
    const newDead = tempName('a.json', DEAD_PID);
    for (const name of [oldForeign, newForeign, newDead]) writeFileSync(join(dir, name), 'x');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, oldForeign), anHourAgo, anHourAgo);

    expect(await sweepTempFiles(dir, { olderThanMs: 60_000 })).toEqual([join(dir, oldForeign)]);
    expect(await sweepTempFiles(dir)).toEqual([join(dir, newDead)]);
    expect(entries(dir)).toEqual([newForeign]);
  });

  it('leaves the temp file of a write in progress alone', async () => {
    const dir = freshDir();
    const target = join(dir, 'state.json');
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reached!: () => void;
    const atFsync = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const realFsync = fsx.fsync;
    patchFs({
      fsync: async (fd) => {
        reached();
        await held;
        return realFsync(fd);
      },
    });
    const writing = writeFileAtomic(target, 'content');
    await atFsync;
    const [temp] = entries(dir);
    expect(parseTempName(basename(temp!))).toBeDefined();
    expect(await sweepTempFiles(dir)).toEqual([]);
    expect(entries(dir)).toEqual([temp]);
    release();
    await writing;
    expect(entries(dir)).toEqual(['state.json']);
  });

  it('fails with NOT_FOUND for a missing folder and TypeError for misuse', async () => {
    const dir = freshDir();
    await expect(sweepTempFiles(join(dir, 'nope'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
      step: 'sweep',
    });
    await expect(sweepTempFiles(dir, { olderThanMs: -1 })).rejects.toThrow(TypeError);
  });
});
