import { copyFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Backlog, STATUSES } from '@savepoint/task-schema';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeBacklog, useTempDir } from '../test/helpers.ts';
import {
  createFileStore,
  MIN_COMPACT_BYTES,
  readSession,
  SessionError,
  SessionManager,
} from './index.ts';
import { decodeJournal, encodeBase, encodeBatch, FRAME_HEADER_BYTES } from './internal/journal.ts';

let planDir: string;
useTempDir((temp) => {
  planDir = join(temp, 'plan');
});

const SHAPE = { phases: 1, milestones: 2, tasks: 2, subtasks: 5 };

function subtaskIds(backlog: Backlog): string[] {
  return backlog.backlog.flatMap((phase) =>
    phase.milestones.flatMap((milestone) =>
      milestone.tasks.flatMap((task) => task.subtasks.map((subtask) => subtask.id)),
    ),
  );
}

/** A session with `flushes` flushes, one subtask Complete per flush, left open (not compacted). */
async function sessionWithJournal(flushes: number) {
  const manager = new SessionManager({ prdText: '# journal\n', planDir });
  const state = await manager.initialize({ backlog: makeBacklog(SHAPE) });
  const ids = subtaskIds(state.taskRegistry);
  for (let k = 0; k < flushes; k++) {
    manager.updateItemStatus(ids[k]!, 'Complete');
    await manager.flushUpdates();
  }
  const expected = manager.currentSession!.taskRegistry;
  // Let go without compacting, as a killed process would.
  manager.closeSync();
  const folder = state.metadata.path;
  return { folder, journal: join(folder, 'tasks.journal'), expected, ids };
}

/** Byte offsets at which the records (frames) of a journal start. */
async function frameOffsets(path: string): Promise<number[]> {
  const bytes = await readFile(path);
  const offsets: number[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    offsets.push(at);
    at += FRAME_HEADER_BYTES + bytes.readUInt32LE(at + 4);
  }
  return offsets;
}

describe('tasks.journal', () => {
  it('holds one record per flush, which readers apply to tasks.json', async () => {
    const { folder, journal, expected } = await sessionWithJournal(4);
    // A base record naming the snapshot, then one record per flush.
    expect(await frameOffsets(journal)).toHaveLength(5);
    const decoded = decodeJournal(await readFile(journal), journal);
    expect(decoded.batches.map((batch) => batch.sequence)).toEqual([1, 2, 3, 4]);
    expect(decoded.discardedBytes).toBe(0);
    expect((await readSession(folder)).backlog).toEqual(expected);
  });

  it('ignores a torn tail at every cut point, and cuts it off before the next append', async () => {
    const { folder, journal, expected, ids } = await sessionWithJournal(3);
    const whole = await readFile(journal);
    const offsets = await frameOffsets(journal);
    const lastStart = offsets.at(-1)!;
    const store = createFileStore(planDir);
    for (let cut = lastStart + 1; cut < whole.byteLength; cut++) {
      await writeFile(journal, whole.subarray(0, cut));
      const loaded = await store.read(folder);
      expect(loaded.changes).toHaveLength(2);
      expect(loaded.tail).toEqual({ validBytes: lastStart, discardedBytes: cut - lastStart });
    }
    // A tail of zeros (the file grew but its data never reached the disk) is torn too.
    await writeFile(journal, Buffer.concat([whole.subarray(0, lastStart), Buffer.alloc(300)]));
    expect((await store.read(folder)).changes).toHaveLength(2);

    // The next writer cuts the torn bytes off and appends after the last whole record.
    const writer = new SessionManager({ planDir });
    const state = await writer.loadSession(folder);
    // Without its torn last record the session is as it was after two flushes.
    expect(state.taskRegistry).not.toEqual(expected);
    expect(state.taskRegistry.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[2]!.status).toBe(
      'Planned',
    );
    writer.updateItemStatus(ids[5]!, 'Failed');
    await writer.flushUpdates();
    const registry = writer.currentSession!.taskRegistry;
    writer.closeSync();
    const after = await store.read(folder);
    expect(after.tail.discardedBytes).toBe(0);
    expect(after.changes.map((batch) => batch.sequence)).toEqual([1, 2, 3]);
    expect((await readSession(folder)).backlog).toEqual(registry);
  });

  it('refuses damage before the tail with CORRUPT naming the file and the byte offset', async () => {
    const { folder, journal } = await sessionWithJournal(4);
    const whole = await readFile(journal);
    const offsets = await frameOffsets(journal);
    for (const [at, where] of [
      [offsets[2]! + FRAME_HEADER_BYTES + 3, offsets[2]!], // a payload byte of record 2
      [offsets[1]! + 5, offsets[1]!], // the length field of record 1
      [offsets[3]! + 10, offsets[3]!], // the checksum of record 3
    ] as const) {
      const damaged = Buffer.from(whole);
      damaged[at] = damaged[at]! ^ 0x5a;
      await writeFile(journal, damaged);
      const error = await readSession(folder).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SessionError);
      expect(error).toMatchObject({ code: 'CORRUPT', path: journal, offset: where });
      expect((error as Error).message).toContain(`byte ${where}`);
      const opener = new SessionManager({ planDir });
      await expect(opener.loadSession(folder)).rejects.toMatchObject({ code: 'CORRUPT' });
      // Nothing was cut or rewritten.
      expect(await readFile(journal)).toEqual(damaged);
    }
  });

  it('encodes any id as JSON.stringify would, and decodes it back', () => {
    const ids = [
      'P1.M1.T1.S1',
      'a"b',
      'back\\slash',
      'tab\tnew\nline\u0000',
      'é ü 中文',
      '😀',
      'lone \ud800',
      '\u2028',
    ];
    const batch = {
      sequence: 7,
      statuses: ids.map((id) => ({ id, status: 'Complete' as const })),
      currentItemId: 'a"b',
    };
    const frame = encodeBatch(batch);
    const payload = frame.subarray(FRAME_HEADER_BYTES).toString('utf8');
    expect(payload).toBe(
      JSON.stringify({ seq: 7, s: ids.map((id) => [id, 'Complete']), c: 'a"b' }),
    );
    expect(frame.readUInt32LE(4)).toBe(frame.byteLength - FRAME_HEADER_BYTES);
    const base = encodeBase({ sequence: 6, size: 1, crc32: 0 });
    const decoded = decodeJournal(Buffer.concat([base, frame]), 'j');
    expect(decoded.batches).toEqual([
      {
        ...batch,
        statuses: batch.statuses.map(({ id, status }) => ({
          id: JSON.parse(JSON.stringify(id)),
          status,
        })),
      },
    ]);
  });

  it('encodes long batches of mixed ids byte for byte as JSON.stringify does', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.oneof(
              fc.constantFrom('P1', 'P1.M2.T3.S4', ''),
              fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
              fc.string({ unit: 'binary', maxLength: 12 }),
            ),
            status: fc.constantFrom(...STATUSES),
          }),
          { maxLength: 400 },
        ),
        fc.option(fc.string({ unit: 'binary', maxLength: 8 }), { nil: undefined }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (statuses, currentItemId, sequence) => {
          const batch = {
            sequence,
            statuses,
            ...(currentItemId === undefined ? {} : { currentItemId }),
          };
          const frame = encodeBatch(batch);
          const expected = JSON.stringify({
            seq: sequence,
            s: statuses.map(({ id, status }) => [id, status]),
            ...(currentItemId === undefined ? {} : { c: currentItemId }),
          });
          expect(frame.subarray(FRAME_HEADER_BYTES).toString('utf8')).toBe(expected);
          expect(frame.readUInt32LE(4)).toBe(Buffer.byteLength(expected));
        },
      ),
      { numRuns: 300 },
    );
    // Every id needs escaping: the buffer grows many times over.
    const ids = Array.from({ length: 3_000 }, (_, i) => `"${'\\'.repeat(i % 7)}😀${i}\u0001`);
    const batch = {
      sequence: 2,
      statuses: ids.map((id) => ({ id, status: 'Implementing' as const })),
    };
    expect(encodeBatch(batch).subarray(FRAME_HEADER_BYTES).toString('utf8')).toBe(
      JSON.stringify({ seq: 2, s: ids.map((id) => [id, 'Implementing']) }),
    );
  });

  it('applies the last status of an item changed by several records', async () => {
    const { folder, journal, ids } = await sessionWithJournal(2);
    // Records 3 and 4 change the same subtask twice, and the first one back.
    await writeFile(
      journal,
      Buffer.concat([
        encodeBatch({ sequence: 3, statuses: [{ id: ids[5]!, status: 'Failed' }] }),
        encodeBatch({
          sequence: 4,
          statuses: [
            { id: ids[5]!, status: 'Complete' },
            { id: ids[0]!, status: 'Planned' },
          ],
          currentItemId: ids[5]!,
        }),
      ]),
      { flag: 'a' },
    );
    const { backlog } = await readSession(folder);
    const statusOf = (id: string) =>
      backlog.backlog[0]!.milestones.flatMap((m) => m.tasks.flatMap((t) => t.subtasks)).find(
        (subtask) => subtask.id === id,
      )?.status;
    expect([statusOf(ids[0]!), statusOf(ids[1]!), statusOf(ids[5]!)]).toEqual([
      'Planned',
      'Complete',
      'Complete',
    ]);
    expect(backlog.currentItemId).toBe(ids[5]);
  });

  it('refuses a whole record that names an item the snapshot does not have', async () => {
    const { folder, journal, ids } = await sessionWithJournal(2);
    await writeFile(
      journal,
      encodeBatch({
        sequence: 3,
        statuses: [
          { id: ids[1]!, status: 'Failed' },
          { id: 'P9.M9.T9.S9', status: 'Complete' },
        ],
      }),
      { flag: 'a' },
    );
    const before = await readFile(journal);
    const error = await readSession(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'CORRUPT', path: folder });
    expect((error as Error).message).toContain('change batch 3');
    expect((error as Error).message).toContain('"P9.M9.T9.S9"');
    expect(await readFile(journal)).toEqual(before);
  });

  it('survives a compaction stopped after the snapshot: the stale journal is not applied again', async () => {
    const { folder, journal, expected, ids } = await sessionWithJournal(3);
    const stale = join(folder, 'stale.copy');
    await copyFile(journal, stale);
    const manager = new SessionManager({ planDir });
    await manager.loadSession(folder);
    // Undo one flush's change in memory and compact: the snapshot now disagrees with record 1.
    manager.updateItemStatus(ids[0]!, 'Planned');
    await manager.close();
    const compacted = (await readSession(folder)).backlog;
    expect(compacted).not.toEqual(expected);
    // The compaction left a fresh journal holding only its base (the snapshot's batch number).
    const fresh = decodeJournal(await readFile(journal), journal);
    expect(fresh.batches).toEqual([]);
    expect(fresh.base?.sequence).toBe(4);
    expect((await stat(journal)).size).toBe(fresh.validBytes);
    // Put the old journal back, as if the compaction died before emptying it.
    await copyFile(stale, journal);
    expect((await readSession(folder)).backlog).toEqual(compacted);
    const writer = new SessionManager({ planDir });
    expect((await writer.loadSession(folder)).taskRegistry).toEqual(compacted);
    writer.updateItemStatus(ids[7]!, 'Complete');
    await writer.flushUpdates();
    const registry = writer.currentSession!.taskRegistry;
    writer.closeSync();
    const after = await readSession(folder);
    expect(after.backlog).toEqual(registry);
    expect(after.backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!.status).toBe('Planned');
  });

  it('compacts on its own once the journal outgrows the snapshot and MIN_COMPACT_BYTES', async () => {
    const manager = new SessionManager({ prdText: '# long journal\n', planDir });
    const state = await manager.initialize({
      backlog: makeBacklog({ phases: 2, milestones: 5, tasks: 10, subtasks: 20 }),
    });
    const ids = subtaskIds(state.taskRegistry);
    const journal = join(state.metadata.path, 'tasks.journal');
    const snapshotBytes = (await stat(join(state.metadata.path, 'tasks.json'))).size;
    expect(snapshotBytes).toBeLessThan(MIN_COMPACT_BYTES);
    let largest = 0;
    for (let round = 0; manager.getStats().compactions === 0 && round < 60; round++) {
      for (const id of ids) manager.updateItemStatus(id, round % 2 === 0 ? 'Complete' : 'Planned');
      await manager.flushUpdates();
      largest = Math.max(largest, (await stat(journal)).size);
    }
    expect(manager.getStats().compactions).toBe(1);
    // It waited for the threshold, then started over with a journal holding only its base.
    expect(largest).toBeGreaterThan(MIN_COMPACT_BYTES * 0.9);
    const fresh = decodeJournal(await readFile(journal), journal);
    expect(fresh.batches).toEqual([]);
    const registry = manager.currentSession!.taskRegistry;
    expect((await readSession(state.metadata.path)).backlog).toEqual(registry);
    await manager.close();
  });

  it('opens a session written before journals existed, and an empty journal', async () => {
    const { folder, journal } = await sessionWithJournal(0);
    await truncate(journal, 0).catch(() => undefined);
    const manager = new SessionManager({ planDir });
    const state = await manager.loadSession(folder);
    expect(state.taskRegistry).toEqual(makeBacklog(SHAPE));
    await manager.close();
  });
});
