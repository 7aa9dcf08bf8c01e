import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Backlog, serializeBacklog } from '@savepoint/task-schema';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferred, makeBacklog, makeTempDir } from '../test/helpers.ts';
import {
  type ChangeBatch,
  createFileStore,
  createMemoryStore,
  hashPrd,
  listSessions,
  readSession,
  SessionError,
  type SessionHandle,
  SessionManager,
  type SessionStore,
  sessionLockPath,
} from './index.ts';

const PRD_A = '# Product A\n\nBuild the thing.\n';
const PRD_B = '# Product A\n\nBuild the thing, and a second thing.\n';
const PRD_C = '# Product C\n';

let planDir: string;
let cleanup: () => Promise<void>;
const open: SessionManager[] = [];

beforeEach(async () => {
  const temp = await makeTempDir();
  planDir = join(temp.dir, 'plan');
  cleanup = temp.cleanup;
});

afterEach(async () => {
  for (const manager of open.splice(0)) await manager.close().catch(() => undefined);
  await cleanup();
});

function manager(
  prdText: string,
  extra: Partial<ConstructorParameters<typeof SessionManager>[0]> = {},
): SessionManager {
  const created = new SessionManager({ prdText, planDir, ...extra } as never);
  open.push(created);
  return created;
}

/** The session's state on disk as a reader sees it: the snapshot with the journal applied. */
async function readTasks(sessionPath: string): Promise<Backlog> {
  return (await readSession(sessionPath)).backlog;
}

function statusOf(backlog: Backlog, id: string): string | undefined {
  for (const phase of backlog.backlog) {
    if (phase.id === id) return phase.status;
    for (const milestone of phase.milestones) {
      if (milestone.id === id) return milestone.status;
      for (const task of milestone.tasks) {
        if (task.id === id) return task.status;
        for (const subtask of task.subtasks) if (subtask.id === id) return subtask.status;
      }
    }
  }
  return undefined;
}

/** A file store whose appends can be held at their start or made to fail, and whose hold can be lost. */
function hookedStore(dir: string, lost?: AbortSignal) {
  const inner = createFileStore(dir);
  const gates: Array<{ promise: Promise<void> } | undefined> = [];
  const appends: ChangeBatch[] = [];
  const hooks = { failNext: false };
  let calls = 0;
  const wrap = (handle: SessionHandle): SessionHandle => ({
    summary: handle.summary,
    signal: lost ?? handle.signal,
    load: () => handle.load(),
    append: async (batch) => {
      const gate = gates[calls++];
      if (gate) await gate.promise;
      if (hooks.failNext) {
        hooks.failNext = false;
        throw new Error('disk on fire');
      }
      await handle.append(batch);
      appends.push(batch);
    },
    appendSync: (batch) => handle.appendSync(batch),
    compact: (snapshot) => handle.compact(snapshot),
    compactSync: (snapshot) => handle.compactSync(snapshot),
    writeArtifact: (name, text) => handle.writeArtifact(name, text),
    removeArtifact: (name) => handle.removeArtifact(name),
    release: () => handle.release(),
    releaseSync: () => handle.releaseSync(),
  });
  const store: SessionStore = {
    location: inner.location,
    list: () => inner.list(),
    read: (ref) => inner.read(ref),
    open: async (ref, options) => wrap(await inner.open(ref, options)),
    create: async (draft, options) => {
      const result = await inner.create(draft, options);
      return result.status === 'created' ? { ...result, handle: wrap(result.handle) } : result;
    },
  };
  return { store, gates, appends, hooks };
}

function statusIn(batch: ChangeBatch, id: string): string | undefined {
  return batch.statuses.find((change) => change.id === id)?.status;
}

describe('initialize', () => {
  it('creates the first session complete, locked and named after the PRD hash', async () => {
    const backlog = makeBacklog({ phases: 1, milestones: 2, tasks: 2, subtasks: 3 });
    const first = manager(PRD_A);
    const state = await first.initialize({ backlog });

    const id = `001_${hashPrd(PRD_A)}`;
    expect(state.metadata).toMatchObject({
      id,
      sequence: 1,
      hash: hashPrd(PRD_A),
      path: join(planDir, id),
      parentSession: null,
    });
    expect(state.metadata.createdAt).toBeInstanceOf(Date);
    expect(state).toMatchObject({ isNew: true, isDelta: false, inFlight: [], currentItemId: null });
    expect(state.prdSnapshot).toBe(PRD_A);
    expect(state.taskRegistry).toEqual(backlog);

    expect((await readdir(planDir)).sort()).toEqual([`.${id}.lock`, id]);
    expect((await readdir(join(planDir, id))).sort()).toEqual(['prd_snapshot.md', 'tasks.json']);
    expect(await readFile(join(planDir, id, 'prd_snapshot.md'), 'utf8')).toBe(PRD_A);
    expect(await readFile(join(planDir, id, 'tasks.json'), 'utf8')).toBe(serializeBacklog(backlog));
    expect(existsSync(sessionLockPath(state.metadata.path))).toBe(true);

    await first.close();
    expect(existsSync(sessionLockPath(state.metadata.path))).toBe(false);
    expect(first.currentSession).toBeNull();
  });

  it('resumes the session of the same PRD with the state the last run flushed', async () => {
    const first = manager(PRD_A);
    await first.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 2 }),
    });
    first.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await first.close();

    let factoryCalls = 0;
    const second = manager(PRD_A);
    const state = await second.initialize({
      backlog: () => {
        factoryCalls += 1;
        return makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 });
      },
    });
    expect(factoryCalls).toBe(0);
    expect(state.isNew).toBe(false);
    expect(state.metadata.id).toBe(`001_${hashPrd(PRD_A)}`);
    expect(statusOf(state.taskRegistry, 'P1.M1.T1.S1')).toBe('Complete');
    expect(statusOf(state.taskRegistry, 'P1.M1.T1')).toBe('Implementing');
    expect(await listSessions(planDir)).toHaveLength(1);
  });

  it('creates a delta session naming the latest session as parent when the PRD changes', async () => {
    const first = manager(PRD_A);
    await first.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 2 }),
    });
    first.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await first.close();

    const seen: Array<{ hash: string; parentId: string | null; parentStatus?: string }> = [];
    const second = manager(PRD_B);
    const state = await second.initialize({
      backlog: ({ hash, parent }) => {
        seen.push({
          hash,
          parentId: parent?.metadata.id ?? null,
          parentStatus: parent ? statusOf(parent.backlog, 'P1.M1.T1.S1') : undefined,
        });
        return makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 3 });
      },
    });
    const parentId = `001_${hashPrd(PRD_A)}`;
    expect(seen).toEqual([{ hash: hashPrd(PRD_B), parentId, parentStatus: 'Complete' }]);
    expect(state.metadata).toMatchObject({
      id: `002_${hashPrd(PRD_B)}`,
      sequence: 2,
      parentSession: parentId,
    });
    expect(state).toMatchObject({ isNew: true, isDelta: true });
    expect(await readFile(join(state.metadata.path, 'parent_session.txt'), 'utf8')).toBe(parentId);
    const parent = await second.readParentSession();
    expect(parent?.metadata.id).toBe(parentId);
    await second.close();

    // A third PRD hangs off the latest session, not the first.
    const third = manager(PRD_C);
    const thirdState = await third.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    expect(thirdState.metadata.parentSession).toBe(`002_${hashPrd(PRD_B)}`);
    await third.close();

    // Going back to PRD A resumes its own session instead of creating a fourth.
    const again = manager(PRD_A);
    const againState = await again.initialize();
    expect(againState.metadata.id).toBe(parentId);
    expect(againState.isDelta).toBe(false);
  });

  it('reads the PRD from prdPath as bytes and hashes those bytes', async () => {
    const { dir, cleanup: remove } = await makeTempDir();
    try {
      const prdPath = join(dir, 'PRD.md');
      const bytes = Buffer.from('# Caf\u00e9\r\n\r\nno trailing newline', 'utf8');
      await writeFile(prdPath, bytes);
      const fromFile = new SessionManager({ prdPath, planDir });
      open.push(fromFile);
      const state = await fromFile.initialize({
        backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
      });
      expect(state.metadata.hash).toBe(hashPrd(bytes));
      expect(await readFile(join(state.metadata.path, 'prd_snapshot.md'))).toEqual(bytes);

      const missing = new SessionManager({ prdPath: join(dir, 'nope.md'), planDir });
      await expect(missing.initialize()).rejects.toMatchObject({
        name: 'SessionError',
        code: 'NOT_FOUND',
        path: join(dir, 'nope.md'),
      });
    } finally {
      await remove();
    }
  });

  it('creates a session with an empty backlog when given none, to be saved later', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize();
    expect(state.taskRegistry).toEqual({ backlog: [] });
    const backlog = makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 2 });
    await session.saveBacklog(backlog);
    await session.close();
    expect((await readSession(state.metadata.path)).backlog).toEqual(backlog);
  });

  it('fails with INVALID_BACKLOG and creates nothing', async () => {
    const broken = makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 2 });
    broken.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[1]!.dependencies = ['P9.M9.T9.S9'];
    const error = await manager(PRD_A)
      .initialize({ backlog: broken })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'INVALID_BACKLOG' });
    expect((error as SessionError).issues[0]).toMatchObject({ code: 'UNKNOWN_DEPENDENCY' });
    expect(await listSessions(planDir)).toEqual([]);
    const entries = existsSync(planDir) ? await readdir(planDir) : [];
    expect(entries.filter((entry) => !entry.endsWith('.lock'))).toEqual([]);
  });

  it('gives a second opener in the same process a LOCKED error naming this pid', async () => {
    await manager(PRD_A).initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    const error = await manager(PRD_A)
      .initialize()
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'LOCKED', holder: { pid: process.pid } });
    expect((error as Error).message).toContain(String(process.pid));
  });

  it('returns the same session to concurrent calls in one process', async () => {
    const first = manager(PRD_A);
    const backlog = makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 });
    const [a, b] = await Promise.all([
      first.initialize({ backlog }),
      first.initialize({ backlog }),
    ]);
    expect(a.metadata.id).toBe(b.metadata.id);
    expect(await listSessions(planDir)).toHaveLength(1);
  });
});

describe('updates and flushes', () => {
  const shape = { phases: 2, milestones: 2, tasks: 2, subtasks: 3 };

  it('applies status changes in memory, counts them, and writes them on flush', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    const onDisk = await readFile(join(state.metadata.path, 'tasks.json'), 'utf8');

    session.updateItemStatus('P1.M1.T1.S1', 'Implementing');
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    session.updateItemStatus('P2.M2.T2.S3', 'Failed');
    expect(session.isDirty).toBe(true);
    expect(session.getStats()).toMatchObject({ pending: 3, flushes: 0 });
    const registry = session.currentSession!.taskRegistry;
    expect(statusOf(registry, 'P1.M1.T1.S1')).toBe('Complete');
    expect(statusOf(registry, 'P1.M1.T1')).toBe('Implementing');
    expect(statusOf(registry, 'P2.M2.T2')).toBe('Implementing');
    expect(await readFile(join(state.metadata.path, 'tasks.json'), 'utf8')).toBe(onDisk);

    await session.flushUpdates();
    expect(session.isDirty).toBe(false);
    expect(session.getStats()).toMatchObject({
      pending: 0,
      flushes: 1,
      updatesFlushed: 3,
      lastFlushUpdates: 3,
      updatesPerFlush: 3,
    });
    expect(session.getStats().lastFlushMs).toBeGreaterThanOrEqual(0);
    // The flush appended to the journal; the snapshot is untouched until a compaction.
    expect(await readFile(join(state.metadata.path, 'tasks.json'), 'utf8')).toBe(onDisk);
    expect(existsSync(join(state.metadata.path, 'tasks.journal'))).toBe(true);
    expect(await readTasks(state.metadata.path)).toEqual(registry);

    // Nothing changed: no second write.
    await session.flushUpdates();
    expect(session.getStats().flushes).toBe(1);

    // Setting a status an item already has is not an update.
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    expect(session.isDirty).toBe(false);

    // The index view answers queries on the live backlog and offers no way around the manager.
    const view = session.index;
    expect(view.backlog).toBe(session.currentSession!.taskRegistry);
    expect(view.nextReady()?.id).toBe('P1.M1.T1.S2');
    expect(view.countByStatus('P1.M1.T1')).toMatchObject({ Complete: 1, Planned: 2 });
    expect((view as unknown as Record<string, unknown>).setStatus).toBeUndefined();
    expect(Object.isFrozen(view)).toBe(true);

    // rollUp: false changes only the item.
    session.updateItemStatus('P1.M1.T1.S2', 'Complete', { rollUp: false });
    expect(statusOf(session.currentSession!.taskRegistry, 'P1.M1.T1')).toBe('Implementing');
  });

  it('rejects unknown ids with UNKNOWN_ITEM and bad arguments with TypeError', async () => {
    const session = manager(PRD_A);
    expect(() => session.updateItemStatus('P1', 'Complete')).toThrow(
      expect.objectContaining({ code: 'NO_SESSION' }),
    );
    await session.initialize({ backlog: makeBacklog(shape) });
    let caught: unknown;
    try {
      session.updateItemStatus('P7.M1', 'Complete');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SessionError);
    expect(caught).toMatchObject({ code: 'UNKNOWN_ITEM', id: 'P7.M1' });
    expect(() => session.setCurrentItem('P7')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_ITEM', id: 'P7' }),
    );
    expect(() => session.updateItemStatus('P1', 'Done' as never)).toThrow(TypeError);
    expect(() => session.updateItemStatus(42 as never, 'Complete')).toThrow(TypeError);
    expect(session.isDirty).toBe(false);
  });

  it('writes an update made while a flush is running with the next flush', async () => {
    const { store, gates, appends } = hookedStore(planDir);
    const session = manager(PRD_A, { store });
    const state = await session.initialize({ backlog: makeBacklog(shape) });

    const gate = deferred();
    gates[0] = gate;
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    const firstFlush = session.flushUpdates();
    // Let the flush take its snapshot and block inside the store's save.
    await new Promise((resolve) => setTimeout(resolve, 20));
    session.updateItemStatus('P1.M1.T1.S2', 'Complete');
    expect(session.isDirty).toBe(true);
    gate.resolve();
    await firstFlush;

    expect(statusIn(appends[0]!, 'P1.M1.T1.S2')).toBeUndefined();
    expect(session.isDirty).toBe(true);
    expect(session.getStats().pending).toBe(1);
    await session.flushUpdates();
    const onDisk = await readTasks(state.metadata.path);
    expect(statusOf(onDisk, 'P1.M1.T1.S1')).toBe('Complete');
    expect(statusOf(onDisk, 'P1.M1.T1.S2')).toBe('Complete');
    expect(appends).toHaveLength(2);
  });

  it('never lands an older state over a newer one when flushes overlap', async () => {
    const { store, gates, appends } = hookedStore(planDir);
    const session = manager(PRD_A, { store });
    const state = await session.initialize({ backlog: makeBacklog(shape) });

    // The first write is slow; the second would finish first if writes were not ordered.
    const slow = deferred();
    gates[0] = slow;
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    const first = session.flushUpdates();
    await new Promise((resolve) => setTimeout(resolve, 10));
    session.updateItemStatus('P1.M1.T1.S2', 'Complete');
    const second = session.flushUpdates();
    const third = session.flushUpdates();
    setTimeout(() => slow.resolve(), 40);
    await Promise.all([first, second, third]);

    expect(appends.map((batch) => batch.sequence)).toEqual([1, 2]);
    expect(statusIn(appends[0]!, 'P1.M1.T1.S2')).toBeUndefined();
    expect(statusIn(appends[1]!, 'P1.M1.T1.S2')).toBe('Complete');
    const onDisk = await readTasks(state.metadata.path);
    expect(statusOf(onDisk, 'P1.M1.T1.S2')).toBe('Complete');
    expect(onDisk).toEqual(session.currentSession!.taskRegistry);
  });

  it('keeps changes pending when a write fails and propagates the error', async () => {
    const { store, hooks } = hookedStore(planDir);
    const session = manager(PRD_A, { store });
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    hooks.failNext = true;
    const error = await session.flushUpdates().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'IO' });
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(session.isDirty).toBe(true);
    expect(session.getStats()).toMatchObject({ pending: 1, failedFlushes: 1, flushes: 0 });
    expect(session.getStats().lastError).toBe(error);

    await session.flushUpdates();
    expect(statusOf(await readTasks(state.metadata.path), 'P1.M1.T1.S1')).toBe('Complete');
    expect(session.getStats()).toMatchObject({ pending: 0, flushes: 1, lastError: null });
  });

  it('flushes automatically after maxPending updates', async () => {
    const session = manager(PRD_A, { flushPolicy: { maxPending: 3 } });
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    session.updateItemStatus('P1.M1.T1.S2', 'Complete');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(session.getStats().flushes).toBe(0);
    session.updateItemStatus('P1.M1.T1.S3', 'Complete');
    await waitFor(() => session.getStats().flushes === 1);
    const onDisk = await readTasks(state.metadata.path);
    expect(statusOf(onDisk, 'P1.M1.T1')).toBe('Complete');
    expect(session.getStats().lastFlushUpdates).toBe(3);
  });

  it('flushes automatically maxDelayMs after the first pending update', async () => {
    const session = manager(PRD_A, { flushPolicy: { maxDelayMs: 50 } });
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    const started = Date.now();
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    session.updateItemStatus('P1.M1.T1.S2', 'Complete');
    expect(session.getStats().flushes).toBe(0);
    await waitFor(() => session.getStats().flushes === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(statusOf(await readTasks(state.metadata.path), 'P1.M1.T1.S2')).toBe('Complete');
  });

  it('does not flush after 1 ms when maxDelayMs is longer than a timer holds', async () => {
    // setTimeout with more than 2 ** 31 - 1 ms fires after 1 ms.
    const session = manager(PRD_A, { flushPolicy: { maxDelayMs: 3_000_000_000 } });
    await session.initialize({ backlog: makeBacklog(shape) });
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(session.getStats()).toMatchObject({ flushes: 0, isDirty: true });
    await session.flushUpdates();
    expect(session.getStats()).toMatchObject({ flushes: 1, isDirty: false });
  });

  it('writes synchronously with flushSync', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    expect(session.flushSync()).toBe(false);
    session.updateItemStatus('P2.M1.T1.S1', 'Failed');
    expect(session.flushSync()).toBe(true);
    expect(await readTasks(state.metadata.path)).toEqual(session.currentSession!.taskRegistry);
    expect(session.getStats()).toMatchObject({ pending: 0, syncFlushes: 1, isDirty: false });

    // After saveBacklog() started, a synchronous flush writes a whole snapshot.
    const replacement = makeBacklog(shape, 'replaced');
    const saving = session.saveBacklog(replacement);
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    expect(session.flushSync()).toBe(true);
    await saving;
    expect(await readTasks(state.metadata.path)).toEqual(session.currentSession!.taskRegistry);
    expect(statusOf(await readTasks(state.metadata.path), 'P1.M1.T1.S1')).toBe('Complete');
  });

  it('writes a flushSync after an append that is still running, in order', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize({ backlog: makeBacklog(shape) });
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    const running = session.flushUpdates();
    session.updateItemStatus('P1.M1.T1.S2', 'Complete');
    expect(session.flushSync()).toBe(true);
    await running;
    expect(session.isDirty).toBe(false);
    const onDisk = await readTasks(state.metadata.path);
    expect(statusOf(onDisk, 'P1.M1.T1.S1')).toBe('Complete');
    expect(statusOf(onDisk, 'P1.M1.T1.S2')).toBe('Complete');
    expect(onDisk).toEqual(session.currentSession!.taskRegistry);
  });
});

describe('flushSync during a compaction', () => {
  it('leaves the snapshot and the journal in agreement, whichever write lands last', async () => {
    const session = new SessionManager({ prdText: PRD_A, planDir });
    open.push(session);
    const state = await session.initialize({
      backlog: makeBacklog({ phases: 2, milestones: 2, tasks: 2, subtasks: 3 }),
    });
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    const saving = session.saveBacklog(session.currentSession!.taskRegistry);
    session.updateItemStatus('P1.M1.T1.S2', 'Failed');
    expect(session.flushSync()).toBe(true);
    await saving;
    // Whatever order the two snapshots landed in, the next flush writes a consistent state.
    session.updateItemStatus('P2.M1.T1.S1', 'Complete');
    await session.flushUpdates();
    session.updateItemStatus('P2.M1.T1.S2', 'Complete');
    await session.flushUpdates();
    expect(await readTasks(state.metadata.path)).toEqual(session.currentSession!.taskRegistry);
  });
});

describe('saveBacklog', () => {
  it('replaces the registry so later updates and saves build on the new backlog', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    session.updateItemStatus('P1.M1.T1.S1', 'Implementing');
    const replacement = makeBacklog({ phases: 2, milestones: 1, tasks: 1, subtasks: 2 }, 'new');
    await session.saveBacklog(replacement);
    expect(session.isDirty).toBe(false);
    expect(session.currentSession!.taskRegistry).toEqual(replacement);
    expect(await readTasks(state.metadata.path)).toEqual(replacement);

    // The original design's shutdown order: flush, then save the registry. Neither may undo
    // the other.
    session.updateItemStatus('P2.M1.T1.S2', 'Complete');
    await session.flushUpdates();
    await session.saveBacklog(session.currentSession!.taskRegistry);
    const onDisk = await readTasks(state.metadata.path);
    expect(onDisk.backlog).toHaveLength(2);
    expect(onDisk.backlog[0]!.title).toBe('new P1');
    expect(statusOf(onDisk, 'P2.M1.T1.S2')).toBe('Complete');
    expect(onDisk).toEqual(session.currentSession!.taskRegistry);

    // The caller changing its own object afterwards does not reach the session.
    replacement.backlog[0]!.title = 'changed behind the session';
    expect(session.currentSession!.taskRegistry.backlog[0]!.title).toBe('new P1');
  });

  it('rejects an invalid backlog and keeps the registry', async () => {
    const session = manager(PRD_A);
    const backlog = makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 });
    await session.initialize({ backlog });
    const invalid = structuredClone(backlog) as unknown as { backlog: Array<{ status: string }> };
    invalid.backlog[0]!.status = 'Maybe';
    await expect(session.saveBacklog(invalid as never)).rejects.toMatchObject({
      code: 'INVALID_BACKLOG',
    });
    expect(session.currentSession!.taskRegistry).toEqual(backlog);
    await expect(
      new SessionManager({ prdText: 'x', planDir }).saveBacklog(backlog),
    ).rejects.toMatchObject({
      code: 'NO_SESSION',
    });
  });
});

describe('current item, artifacts, recovery', () => {
  it('round-trips currentItemId through tasks.json', async () => {
    const first = manager(PRD_A);
    const state = await first.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 2, subtasks: 2 }),
    });
    expect(first.getCurrentItem()).toBeNull();
    first.setCurrentItem('P1.M1.T2.S1');
    expect(first.isDirty).toBe(true);
    expect(first.currentSession!.currentItemId).toBe('P1.M1.T2.S1');
    await first.close();
    const text = await readFile(join(state.metadata.path, 'tasks.json'), 'utf8');
    expect(JSON.parse(text).currentItemId).toBe('P1.M1.T2.S1');
    expect(Object.keys(JSON.parse(text))).toEqual(['backlog', 'currentItemId']);

    const second = manager(PRD_A);
    const resumed = await second.initialize();
    expect(resumed.currentItemId).toBe('P1.M1.T2.S1');
    expect(second.getCurrentItem()).toBe('P1.M1.T2.S1');
    second.setCurrentItem(null);
    await second.close();
    expect((await readTasks(state.metadata.path)).currentItemId).toBeNull();
  });

  it('writes artifacts atomically and refuses unsafe or reserved names', async () => {
    const session = manager(PRD_A);
    const state = await session.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    const written = await session.writeArtifact('ERROR_REPORT.md', '# Failures\n');
    expect(written).toBe(join(state.metadata.path, 'ERROR_REPORT.md'));
    expect(await readFile(written, 'utf8')).toBe('# Failures\n');
    await session.writeArtifact('TEST_RESULTS.md', 'ok\n');
    for (const name of ['../escape.md', 'a/b.md', '.hidden', 'tasks.json', 'prd_snapshot.md', '']) {
      await expect(session.writeArtifact(name, 'x')).rejects.toThrow(TypeError);
    }
    expect((await readdir(state.metadata.path)).sort()).toEqual([
      'ERROR_REPORT.md',
      'TEST_RESULTS.md',
      'prd_snapshot.md',
      'tasks.json',
    ]);
  });

  it('reports in-flight subtasks on load and returns them to Planned', async () => {
    const backlog = makeBacklog({ phases: 1, milestones: 1, tasks: 2, subtasks: 2 });
    const first = manager(PRD_A);
    await first.initialize({ backlog });
    first.updateItemStatus('P1.M1.T1.S1', 'Complete');
    first.updateItemStatus('P1.M1.T1.S2', 'Implementing');
    first.updateItemStatus('P1.M1.T2.S1', 'Researching');
    first.updateItemStatus('P1.M1.T2.S2', 'Retrying');
    await first.flushUpdates();
    first.closeSync();

    const second = manager(PRD_A);
    const state = await second.initialize();
    expect(state.inFlight).toEqual(['P1.M1.T1.S2', 'P1.M1.T2.S1', 'P1.M1.T2.S2']);
    expect(second.recoverInFlight()).toEqual(['P1.M1.T1.S2', 'P1.M1.T2.S1', 'P1.M1.T2.S2']);
    const registry = second.currentSession!.taskRegistry;
    expect(second.currentSession!.inFlight).toEqual([]);
    expect(statusOf(registry, 'P1.M1.T1.S2')).toBe('Planned');
    expect(statusOf(registry, 'P1.M1.T1')).toBe('Implementing');
    expect(statusOf(registry, 'P1.M1.T2')).toBe('Planned');
    expect(second.getStats().pending).toBe(3);
    await second.close();
    expect(statusOf(await readTasks(state.metadata.path), 'P1.M1.T2.S2')).toBe('Planned');
  });
});

describe('recovering containers', () => {
  it('settles a container whose in-flight status its children do not explain', async () => {
    const backlog = makeBacklog({ phases: 1, milestones: 2, tasks: 2, subtasks: 2 });
    const task = (m: number, t: number) => backlog.backlog[0]!.milestones[m]!.tasks[t]!;
    // P1.M1.T1 is partly done: its Implementing is the normal roll-up and must stay.
    task(0, 0).subtasks[0]!.status = 'Complete';
    task(0, 0).status = 'Implementing';
    backlog.backlog[0]!.milestones[0]!.status = 'Implementing';
    backlog.backlog[0]!.status = 'Implementing';
    // P1.M2.T1 was marked Researching by a runner that died; nothing under it started.
    task(1, 0).status = 'Researching';
    // P1.M2.T2.S1 was being implemented.
    task(1, 1).subtasks[0]!.status = 'Implementing';
    task(1, 1).status = 'Implementing';
    backlog.backlog[0]!.milestones[1]!.status = 'Implementing';

    const first = manager(PRD_A);
    const created = await first.initialize({ backlog });
    expect(created.inFlight).toEqual(['P1.M2.T1', 'P1.M2.T2.S1']);
    await first.close();

    const second = manager(PRD_A);
    const state = await second.initialize();
    expect(state.inFlight).toEqual(['P1.M2.T1', 'P1.M2.T2.S1']);
    expect(second.recoverInFlight()).toEqual(['P1.M2.T1', 'P1.M2.T2.S1']);
    const registry = second.currentSession!.taskRegistry;
    expect(statusOf(registry, 'P1.M2.T1')).toBe('Planned');
    expect(statusOf(registry, 'P1.M2.T2.S1')).toBe('Planned');
    expect(statusOf(registry, 'P1.M2.T2')).toBe('Planned');
    expect(statusOf(registry, 'P1.M2')).toBe('Planned');
    expect(statusOf(registry, 'P1.M1.T1')).toBe('Implementing');
    expect(statusOf(registry, 'P1')).toBe('Implementing');
    expect(second.recoverInFlight()).toEqual([]);
  });
});

describe('loading and listing', () => {
  it('readSession reads a session of any store by id, without holding it', async () => {
    const store = createMemoryStore();
    const holder = new SessionManager({ prdText: PRD_A, store });
    const state = await holder.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 2 }),
    });
    const first = holder.index.subtasks()[0]!.id;
    holder.updateItemStatus(first, 'Complete');
    await holder.flushUpdates();
    const snapshot = await readSession(state.metadata.id, { store });
    expect(snapshot.metadata.id).toBe(state.metadata.id);
    expect(snapshot.prdSnapshot).toBe(PRD_A);
    expect(snapshot.backlog).toEqual(holder.currentSession!.taskRegistry);
    await holder.close();
    await expect(readSession('009_dddddddddddd', { store })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('loads a folder whose hash differs from its snapshot, and reports incomplete sessions', async () => {
    const backlog = makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 });
    await mkdir(join(planDir, '002_aaaaaaaaaaaa'), { recursive: true });
    await writeFile(join(planDir, '002_aaaaaaaaaaaa', 'tasks.json'), JSON.stringify(backlog));
    await writeFile(join(planDir, '002_aaaaaaaaaaaa', 'prd_snapshot.md'), PRD_C);
    // A half folder is an error naming the folder and the missing file, never skipped.
    const half = join(planDir, '003_bbbbbbbbbbbb');
    await mkdir(half);
    await writeFile(join(half, 'prd_snapshot.md'), PRD_C);
    const incomplete = { code: 'INCOMPLETE_SESSION', path: half };
    await expect(listSessions(planDir)).rejects.toMatchObject(incomplete);
    await expect(listSessions(planDir)).rejects.toThrow(/003_bbbbbbbbbbbb.*tasks\.json/);
    await expect(readSession(half)).rejects.toMatchObject(incomplete);
    await expect(manager(PRD_C).loadSession(half)).rejects.toMatchObject(incomplete);
    await expect(manager(PRD_C).initialize()).rejects.toMatchObject(incomplete);
    expect(existsSync(sessionLockPath(half))).toBe(false);
    await writeFile(join(half, 'tasks.json'), JSON.stringify(backlog));
    // Noise that must not be listed: a temp folder, a foreign name, a lock.
    await mkdir(join(planDir, '.tmp-1-abcdef'));
    await mkdir(join(planDir, 'notes'));
    await writeFile(join(planDir, '.001_dddddddddddd.lock'), '');
    await mkdir(join(planDir, '010_cccccccccccc'));
    await writeFile(join(planDir, '010_cccccccccccc', 'tasks.json'), JSON.stringify(backlog));
    await writeFile(join(planDir, '010_cccccccccccc', 'prd_snapshot.md'), PRD_C);

    const listed = await listSessions(planDir);
    expect(listed.map((session) => session.id)).toEqual([
      '002_aaaaaaaaaaaa',
      '003_bbbbbbbbbbbb',
      '010_cccccccccccc',
    ]);
    expect(listed[0]).toMatchObject({ sequence: 2, hash: 'aaaaaaaaaaaa' });

    const session = manager(PRD_C);
    const state = await session.loadSession(join(planDir, '002_aaaaaaaaaaaa'));
    expect(state.metadata.hash).toBe('aaaaaaaaaaaa');
    expect(state.prdSnapshot).toBe(PRD_C);
    expect(state.taskRegistry).toEqual(backlog);
    await expect(session.loadSession(join(planDir, '010_cccccccccccc'))).rejects.toThrow(TypeError);
    await session.close();

    const snapshot = await readSession(join(planDir, '010_cccccccccccc'));
    expect(snapshot.backlog).toEqual(backlog);
    await expect(readSession(join(planDir, '005_bbbbbbbbbbbb'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(readSession(join(planDir, 'notes'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const opener = manager(PRD_C);
    await expect(opener.loadSession(join(planDir, 'notes'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(opener.loadSession(join(planDir, '004_eeeeeeeeeeee'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await readdir(planDir)).filter((entry) => entry.endsWith('.lock'))).toEqual([
      '.001_dddddddddddd.lock',
    ]);

    // PRD C hashes to no folder, so it gets a new session numbered after every folder that
    // looks like a session, with the latest one as parent.
    const fresh = manager(PRD_C);
    const created = await fresh.initialize({ backlog });
    expect(created.metadata.id).toBe(`011_${hashPrd(PRD_C)}`);
    expect(created.metadata.parentSession).toBe('010_cccccccccccc');
  });

  it('rejects a corrupt tasks.json with INVALID_BACKLOG and releases the lock', async () => {
    const folder = join(planDir, '001_aaaaaaaaaaaa');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'tasks.json'), '{"backlog": [');
    await writeFile(join(folder, 'prd_snapshot.md'), PRD_A);
    const session = manager(PRD_A);
    await expect(session.loadSession(folder)).rejects.toMatchObject({
      code: 'INVALID_BACKLOG',
      path: folder,
    });
    expect(existsSync(sessionLockPath(folder))).toBe(false);
  });
});

describe('options', () => {
  it('throws TypeError for malformed constructor options', async () => {
    expect(() => new SessionManager(undefined as never)).toThrow(TypeError);
    // Without a PRD a manager can still open sessions by path, but cannot initialize().
    await expect(new SessionManager({ planDir }).initialize()).rejects.toThrow(
      /pass prdPath or prdText/,
    );
    expect(() => new SessionManager({ prdText: 'a', prdPath: 'b', planDir } as never)).toThrow(
      TypeError,
    );
    expect(() => new SessionManager({ prdText: 'a' } as never)).toThrow(/planDir/);
    expect(
      () => new SessionManager({ prdText: 'a', planDir, flushPolicy: { maxPending: 0 } }),
    ).toThrow(/maxPending/);
    expect(
      () => new SessionManager({ prdText: 'a', planDir, flushPolicy: { maxDelayMs: -1 } }),
    ).toThrow(/maxDelayMs/);
    expect(() => new SessionManager({ prdText: 'a', store: {} as never })).toThrow(/SessionStore/);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('losing the lock', () => {
  it('refuses to write once the lock is lost, and close() lets the session go', async () => {
    const lost = new AbortController();
    const { store } = hookedStore(planDir, lost.signal);
    const session = manager(PRD_A, { store });
    const state = await session.initialize({
      backlog: makeBacklog({ phases: 1, milestones: 1, tasks: 1, subtasks: 1 }),
    });
    const before = await readFile(join(state.metadata.path, 'tasks.json'), 'utf8');
    session.updateItemStatus('P1.M1.T1.S1', 'Complete');
    lost.abort(Object.assign(new Error('taken over'), { holder: { pid: 4242, hostname: 'h' } }));

    await expect(session.flushUpdates()).rejects.toMatchObject({
      code: 'LOCK_LOST',
      holder: { pid: 4242 },
    });
    expect(() => session.flushSync()).toThrow(expect.objectContaining({ code: 'LOCK_LOST' }));
    expect(session.isDirty).toBe(true);
    await expect(session.close()).rejects.toMatchObject({ code: 'LOCK_LOST' });
    expect(session.currentSession).toBeNull();
    expect(await readFile(join(state.metadata.path, 'tasks.json'), 'utf8')).toBe(before);
  });
});
