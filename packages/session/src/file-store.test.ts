import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '@savepoint/atomic-store';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../test/helpers.ts';
import {
  createFileStore,
  findLatestSession,
  findSessionByPRD,
  hashPrd,
  listSessions,
  SessionManager,
  sessionLockPath,
} from './index.ts';

let planDir: string;
useTempDir((temp) => {
  planDir = join(temp, 'plan');
});

const TASKS = '{"backlog": []}\n';

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('createFileStore', () => {
  it('creates sessions with increasing numbers, locked, and reports an existing hash instead of duplicating it', async () => {
    const store = createFileStore(planDir);
    const first = await store.create({
      hash: 'aaaaaaaaaaaa',
      prdSnapshot: 'A',
      tasksText: TASKS,
      parentSession: null,
    });
    expect(first.status).toBe('created');
    if (first.status !== 'created') return;
    expect(first.session).toMatchObject({ id: '001_aaaaaaaaaaaa', sequence: 1 });
    expect(first.handle.holder?.pid).toBe(process.pid);
    await expect(store.open(first.session.path)).rejects.toMatchObject({ code: 'LOCKED' });
    await expect(store.open(first.session.id)).rejects.toMatchObject({ code: 'LOCKED' });

    const again = await store.create({
      hash: 'aaaaaaaaaaaa',
      prdSnapshot: 'A',
      tasksText: TASKS,
      parentSession: null,
    });
    expect(again).toMatchObject({ status: 'exists', session: { id: '001_aaaaaaaaaaaa' } });

    const second = await store.create({
      hash: 'bbbbbbbbbbbb',
      prdSnapshot: new Uint8Array([0xff, 0x00, 0x41]),
      tasksText: TASKS,
      parentSession: '001_aaaaaaaaaaaa',
    });
    expect(second).toMatchObject({ status: 'created', session: { id: '002_bbbbbbbbbbbb' } });
    expect(await readFile(join(planDir, '002_bbbbbbbbbbbb', 'prd_snapshot.md'))).toEqual(
      Buffer.from([0xff, 0x00, 0x41]),
    );
    expect(await readFile(join(planDir, '002_bbbbbbbbbbbb', 'parent_session.txt'), 'utf8')).toBe(
      '001_aaaaaaaaaaaa',
    );
    const stored = await store.read(join(planDir, '002_bbbbbbbbbbbb'));
    expect(stored.parentSession).toBe('001_aaaaaaaaaaaa');
    expect(stored.snapshotText).toBe(TASKS);
    expect(stored).toMatchObject({ snapshotSequence: 0, changes: [] });

    await first.handle.release();
    if (second.status === 'created') await second.handle.release();
    expect(existsSync(sessionLockPath(first.session.path))).toBe(false);
  });

  it('sweeps temp folders and orphan session locks of dead creators, keeping live ones', async () => {
    await mkdir(planDir, { recursive: true });
    const dead = deadPid();
    const deadTemp = join(planDir, `.tmp-${dead}-0123456789ab`);
    await mkdir(deadTemp);
    await writeFile(join(deadTemp, 'tasks.json'), 'half');
    const liveTemp = join(planDir, `.tmp-${process.pid}-0123456789ab`);
    await mkdir(liveTemp);
    const oldLiveTemp = join(planDir, `.tmp-1-0123456789ab`);
    await mkdir(oldLiveTemp);
    const longAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(oldLiveTemp, longAgo, longAgo);
    const orphanLock = join(planDir, '.005_cccccccccccc.lock');
    await writeFile(
      orphanLock,
      `${JSON.stringify({ pid: dead, hostname: hostname(), startedAt: new Date().toISOString(), token: 'x' })}\n`,
    );

    const store = createFileStore(planDir);
    const result = await store.create({
      hash: 'dddddddddddd',
      prdSnapshot: 'D',
      tasksText: TASKS,
      parentSession: null,
    });
    if (result.status === 'created') await result.handle.release();
    const entries = await readdir(planDir);
    expect(entries).not.toContain(`.tmp-${dead}-0123456789ab`);
    expect(entries).not.toContain('.tmp-1-0123456789ab');
    expect(entries).not.toContain('.005_cccccccccccc.lock');
    expect(entries).toContain(`.tmp-${process.pid}-0123456789ab`);
    expect(entries).toContain('001_dddddddddddd');
  });

  it('waits for another creator, up to planLockWaitMs or until aborted', async () => {
    await mkdir(planDir, { recursive: true });
    const planLock = await acquireLock(join(planDir, '.plan.lock'));
    try {
      const draft = {
        hash: 'eeeeeeeeeeee',
        prdSnapshot: 'E',
        tasksText: TASKS,
        parentSession: null,
      };
      const impatient = createFileStore(planDir, { planLockWaitMs: 50 });
      await expect(impatient.create(draft)).rejects.toMatchObject({
        code: 'LOCKED',
        holder: { pid: process.pid },
      });
      const manager = new SessionManager({ prdText: 'E', planDir });
      const aborted = manager.initialize({
        backlog: { backlog: [] },
        signal: AbortSignal.timeout(50),
      });
      await expect(aborted).rejects.toMatchObject({ name: 'SessionError', code: 'ABORTED' });

      // A patient creator gets through once the holder lets go.
      const patient = createFileStore(planDir).create(draft);
      setTimeout(() => void planLock.release(), 100);
      const result = await patient;
      expect(result).toMatchObject({ status: 'created', session: { id: '001_eeeeeeeeeeee' } });
      if (result.status === 'created') await result.handle.release();
    } finally {
      await planLock.release();
    }
  });

  it('validates its arguments', () => {
    expect(() => createFileStore('')).toThrow(TypeError);
    expect(() => createFileStore(planDir, { planLockWaitMs: -1 })).toThrow(/planLockWaitMs/);
  });
});

describe('lookups', () => {
  it('find the latest session and the latest session of a PRD by text, bytes or hash', async () => {
    expect(await listSessions(planDir)).toEqual([]);
    expect(await findLatestSession(planDir)).toBeNull();
    const prds = ['# one\n', '# two\n', '# one\n'];
    const backlog = { backlog: [] };
    for (const prd of prds) {
      const manager = new SessionManager({ prdText: prd, planDir });
      await manager.initialize({ backlog });
      await manager.close();
    }
    // The third initialize resumed the first session: two sessions in all.
    expect((await listSessions(planDir)).map((session) => session.id)).toEqual([
      `001_${hashPrd('# one\n')}`,
      `002_${hashPrd('# two\n')}`,
    ]);
    expect((await findLatestSession(planDir))?.sequence).toBe(2);
    expect((await findSessionByPRD(planDir, '# one\n'))?.sequence).toBe(1);
    expect((await findSessionByPRD(planDir, Buffer.from('# two\n')))?.sequence).toBe(2);
    expect((await findSessionByPRD(planDir, hashPrd('# two\n')))?.sequence).toBe(2);
    expect((await findSessionByPRD(planDir, hashPrd('# two\n').toUpperCase()))?.sequence).toBe(2);
    expect(await findSessionByPRD(planDir, '# three\n')).toBeNull();
    await expect(listSessions(42 as never)).rejects.toThrow(TypeError);

    const manager = new SessionManager({ prdText: '# two\n', planDir });
    expect((await manager.findSessionByPRD('# one\n'))?.sequence).toBe(1);
    expect((await manager.findLatestSession())?.sequence).toBe(2);
    expect(await manager.listSessions()).toHaveLength(2);
  });
});
