import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSession, SessionManager } from '@savepoint/session';
import { type Backlog, parseBacklog, serializeBacklog } from '@savepoint/task-schema';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createPostgresStore,
  importSessionFolder,
  type PostgresStore,
  redactConnectionString,
} from '../src/index.ts';
import { describePg, freshSchema, makeBacklog, useDatabase } from './helpers.ts';

it('redactConnectionString leaves the password out, and shows no malformed text', () => {
  expect(redactConnectionString('postgres://ann:s3cret@db.example:5433/work')).toBe(
    'postgres://ann@db.example:5433/work',
  );
  expect(redactConnectionString('postgresql://db/work')).toBe('postgresql://db/work');
  expect(redactConnectionString('ann:s3cret@nowhere')).not.toContain('s3cret');
});

describePg('importSessionFolder', () => {
  const database = useDatabase();
  let store: PostgresStore;
  let dir: string;
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('imp') });
    dir = mkdtempSync(join(tmpdir(), 'savepoint-import-'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads tasks.json with its journal applied, the PRD bytes and run.json; exportTasks gives it back', async () => {
    const planDir = join(dir, 'plan');
    const prd = Buffer.from('# PRD \xe9\n', 'latin1');
    const prdPath = join(dir, 'prd.md');
    writeFileSync(prdPath, prd);
    const manager = new SessionManager({ prdPath, planDir });
    const state = await manager.initialize({
      backlog: parseBacklog(makeBacklog([[{}, {}, {}]])) as Backlog,
    });
    await manager.saveBacklog(manager.currentSession!.taskRegistry);
    // Changes in the journal only: the import must apply them.
    manager.updateItemStatus('P1.M1.T1.S1', 'Complete');
    manager.updateItemStatus('P1.M1.T1.S2', 'Implementing');
    await manager.flushUpdates();
    const folder = state.metadata.path;
    writeFileSync(join(folder, 'run.json'), '{\n  "exec": "make one"\n}\n');
    const onDisk = serializeBacklog((await readSession(folder)).backlog);
    expect(readFileSync(join(folder, 'tasks.json'), 'utf8')).not.toBe(onDisk);

    const imported = await importSessionFolder(store, folder);
    expect(imported.status).toBe('created');
    if (imported.status !== 'created') return;
    expect(imported.session.hash).toBe(state.metadata.hash);
    expect(imported.tasksText).toBe(onDisk);
    expect(await store.exportTasks(imported.session.id)).toBe(onDisk);
    expect(await store.readArtifact(imported.session.id, 'run.json')).toBe(
      '{\n  "exec": "make one"\n}\n',
    );
    const loaded = await store.read(imported.session.id);
    expect(Buffer.from(loaded.prdSnapshot, 'utf8')).toEqual(
      Buffer.from(prd.toString('utf8'), 'utf8'),
    );
    // The subtask the folder left in flight has no lease: a worker can take it at once.
    const claims = await store.join(imported.session.id);
    const claim = await claims.claimNext({ workerId: 'w', leaseMs: 10_000 });
    expect(claim?.itemId).toBe('P1.M1.T1.S2');

    const again = await importSessionFolder(store, folder);
    expect(again).toMatchObject({ status: 'exists', session: { id: imported.session.id } });
    await manager.close();
  });

  it('refuses a folder that is not a session', async () => {
    const plain = join(dir, 'not-a-session');
    mkdirSync(plain);
    await expect(importSessionFolder(store, plain)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('not a session folder'),
    });
    const empty = join(dir, '004_abcdefabcdef');
    mkdirSync(empty);
    await expect(importSessionFolder(store, empty)).rejects.toHaveProperty('code');
    expect((await store.list()).sessions).toHaveLength(1);
  });
});
