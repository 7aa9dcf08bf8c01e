import { RunnerError } from '@savepoint/runner';
import { SessionManager } from '@savepoint/session';
import { type Backlog, parseBacklog } from '@savepoint/task-schema';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePg, freshSchema, makeBacklog, useDatabase } from '../test/helpers.ts';
import { createPostgresStore, type PostgresStore, readSharedRunConfig } from './index.ts';

describePg('readSharedRunConfig', () => {
  const database = useDatabase();
  let store: PostgresStore;
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('rc') });
  });
  afterAll(async () => {
    await store.close();
  });

  async function session(prdText: string, runJson?: string): Promise<string> {
    const manager = new SessionManager({ prdText, store });
    const state = await manager.initialize({
      backlog: parseBacklog(makeBacklog([[{}]])) as Backlog,
    });
    if (runJson !== undefined) await manager.writeArtifact('run.json', runJson);
    await manager.close();
    return state.metadata.id;
  }

  it("reads the session's run.json, {} without one, and names a damaged one", async () => {
    const stored = await session('# one\n', '{\n  "exec": "make one",\n  "retries": 4\n}\n');
    expect(await readSharedRunConfig(store, stored)).toEqual({ exec: 'make one', retries: 4 });
    const without = await session('# two\n');
    expect(await readSharedRunConfig(store, without)).toEqual({});
    const damaged = await session('# three\n', '{"retries": "many"}');
    const error = await readSharedRunConfig(store, damaged).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RunnerError);
    expect(error).toMatchObject({ code: 'INVALID_CONFIG' });
    expect((error as Error).message).toBe(
      `run.json of session ${damaged}: "retries" must be a number`,
    );
  });
});
