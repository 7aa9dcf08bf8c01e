import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionError } from '@savepoint/session';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.ts';
import { describePg, freshHash, freshSchema, makeBacklog, useDatabase } from './helpers.ts';

const REAL = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  '..',
  'shared',
  'fixtures',
  'real-backlogs',
);

describePg('PostgreSQL store: sessions', () => {
  const database = useDatabase();
  let store: PostgresStore;
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema() });
  });
  afterAll(async () => {
    await store.close();
  });

  const draft = (hash = freshHash(), tasksText = makeBacklog([[{}]])) => ({
    hash,
    prdSnapshot: '# PRD\n',
    tasksText,
    parentSession: null,
  });

  it.each(readdirSync(REAL).filter((name) => name.endsWith('.tasks.json')))(
    'round-trips the real backlog %s: import, export equal with identical key order',
    async (name) => {
      const text = readFileSync(join(REAL, name), 'utf8');
      const created = await store.create(draft(freshHash(), text));
      expect(created.status).toBe('created');
      const exported = await store.exportTasks(created.session.id);
      expect(JSON.stringify(JSON.parse(exported))).toBe(JSON.stringify(JSON.parse(text)));
      // Nothing changed since the import: a load gives the text byte for byte.
      const loaded = await store.read(created.session.id);
      expect(loaded.snapshotText).toBe(text);
      expect(loaded.changes).toEqual([]);
    },
  );

  it('gives eight concurrent creators eight different sequence numbers', async () => {
    const before = (await store.list()).sessions.length;
    const results = await Promise.all(Array.from({ length: 8 }, () => store.create(draft())));
    const sequences = results.map((result) => result.session.sequence).sort((a, b) => a - b);
    expect(new Set(sequences).size).toBe(8);
    expect(sequences[0]).toBe(before + 1);
    expect(sequences[7]).toBe(before + 8);
    const listed = (await store.list()).sessions;
    expect(listed.map((session) => session.sequence)).toEqual(listed.map((_, k) => k + 1));
  });

  it('answers exists, writing nothing, when another creator won with the same hash', async () => {
    const hash = freshHash();
    const results = await Promise.all(Array.from({ length: 4 }, () => store.create(draft(hash))));
    expect(results.filter((result) => result.status === 'created')).toHaveLength(1);
    const winner = results.find((result) => result.status === 'created')!;
    for (const result of results.filter((r) => r.status === 'exists')) {
      expect(result.session.id).toBe(winner.session.id);
    }
    const listed = (await store.list()).sessions.filter((session) => session.hash === hash);
    expect(listed).toHaveLength(1);
    expect(winner.session.id).toMatch(new RegExp(`^\\d{3}_${hash}$`));
  });

  it('keeps the PRD bytes, the parent and artifacts', async () => {
    const parent = await store.create(draft());
    const bytes = new Uint8Array([0x23, 0x20, 0xe9, 0x0a]); // Latin-1, not valid UTF-8
    const child = await store.create({
      ...draft(),
      prdSnapshot: bytes,
      parentSession: parent.session.id,
    });
    expect(child.status).toBe('created');
    if (child.status !== 'created') return;
    const loaded = await child.handle.load();
    expect(loaded.parentSession).toBe(parent.session.id);
    expect(loaded.prdSnapshot).toBe(Buffer.from(bytes).toString('utf8'));
    const where = await child.handle.writeArtifact('ERROR_REPORT.md', '# failed\n');
    expect(where).toContain(child.session.id);
    // Readable without holding the session.
    expect(await store.readArtifact(child.session.id, 'ERROR_REPORT.md')).toBe('# failed\n');
    await child.handle.removeArtifact('ERROR_REPORT.md');
    expect(await store.readArtifact(child.session.id, 'ERROR_REPORT.md')).toBeNull();
    await expect(store.readArtifact(child.session.id, '../x')).rejects.toThrow(TypeError);
    await expect(store.readArtifact('997_cccccccccccc', 'run.json')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(child.handle.writeArtifact('tasks.json', 'x')).rejects.toThrow(TypeError);
  });

  it('refuses an unknown parent, an invalid backlog and an unknown session', async () => {
    await expect(
      store.create({ ...draft(), parentSession: '999_aaaaaaaaaaaa' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const invalid = await store.create(draft(freshHash(), '{"backlog": 3}')).catch((e) => e);
    expect(invalid).toBeInstanceOf(SessionError);
    expect(invalid.code).toBe('INVALID_BACKLOG');
    await expect(store.open('998_bbbbbbbbbbbb')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.open('not a session')).rejects.toThrow(TypeError);
  });

  it('appends change batches in sequence and loads them back; compaction replaces them', async () => {
    const created = await store.create(draft(freshHash(), makeBacklog([[{}, {}]])));
    if (created.status !== 'created') throw new Error('not created');
    const { handle } = created;
    const batch1 = {
      sequence: 1,
      statuses: [{ id: 'P1.M1.T1.S1', status: 'Complete' as const }],
      currentItemId: 'P1.M1.T1.S1',
    };
    await handle.append(batch1);
    await expect(handle.append({ sequence: 3, statuses: [] })).rejects.toThrow(TypeError);
    const batch2 = { sequence: 2, statuses: [{ id: 'P1.M1.T1.S2', status: 'Failed' as const }] };
    handle.appendSync(batch2);
    const loaded = await handle.load();
    expect(loaded.snapshotSequence).toBe(0);
    expect(loaded.changes).toEqual([batch1, batch2]);
    const exported = JSON.parse(await store.exportTasks(handle.summary.id));
    expect(exported.currentItemId).toBe('P1.M1.T1.S1');
    expect(
      exported.backlog[0].milestones[0].tasks[0].subtasks.map((s: { status: string }) => s.status),
    ).toEqual(['Complete', 'Failed']);
    const events = await store.events(handle.summary.id);
    expect(events.map((e) => [e.itemId, e.kind, e.from, e.to])).toEqual([
      ['P1.M1.T1.S1', 'change', 'Planned', 'Complete'],
      ['P1.M1.T1.S2', 'change', 'Planned', 'Failed'],
    ]);

    const compacted = `${JSON.stringify(exported, null, 2)}\n`;
    await expect(handle.compact({ text: compacted, sequence: 1 })).rejects.toThrow(TypeError);
    await handle.compact({ text: compacted, sequence: 2 });
    const after = await handle.load();
    expect(after.snapshotText).toBe(compacted);
    expect(after.snapshotSequence).toBe(2);
    expect(after.changes).toEqual([]);
    await handle.append({ sequence: 3, statuses: [{ id: 'P1.M1.T1.S2', status: 'Planned' }] });
    expect((await handle.load()).changes).toHaveLength(1);
    await handle.release();
  });
});
