import { SessionError } from '@savepoint/session';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePg, freshSchema, useDatabase } from '../test/helpers.ts';
import { migrate, SCHEMA_VERSION } from './migrate.ts';

describePg('migrate', () => {
  const database = useDatabase();
  let pools: pg.Pool[] = [];
  beforeAll(() => {
    pools = Array.from({ length: 6 }, () => {
      const pool = new pg.Pool({ connectionString: database.url, max: 1 });
      // The database is dropped WITH (FORCE) after the file: an idle connection still open then
      // is ended by the server, which is no failure of these tests.
      pool.on('error', () => {});
      return pool;
    });
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it('creates the tables once when six connections migrate at the same time', async () => {
    const schema = freshSchema('m');
    const results = await Promise.all(pools.map((pool) => migrate(pool, schema)));
    expect(results.filter((result) => result.from === 0)).toHaveLength(1);
    expect(results.filter((result) => result.from === SCHEMA_VERSION)).toHaveLength(5);
    expect(results.every((result) => result.to === SCHEMA_VERSION)).toBe(true);
    const { rows } = await pools[0]!.query(`SELECT version FROM "${schema}".schema_version`);
    expect(rows.map((row) => row.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, k) => k + 1),
    );
  });

  it('leaves a migrated schema as it is', async () => {
    const schema = freshSchema('m');
    await migrate(pools[0]!, schema);
    await pools[0]!.query(
      `INSERT INTO "${schema}".sessions (id, sequence, hash, prd_snapshot, document, snapshot_text)
       VALUES ('001_aaaaaaaaaaaa', 1, 'aaaaaaaaaaaa', '\\x', '{}', '{}')`,
    );
    expect(await migrate(pools[1]!, schema)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
    const { rows } = await pools[0]!.query(`SELECT id FROM "${schema}".sessions`);
    expect(rows).toEqual([{ id: '001_aaaaaaaaaaaa' }]);
  });

  it('refuses a schema that a newer version migrated', async () => {
    const schema = freshSchema('m');
    await migrate(pools[0]!, schema);
    await pools[0]!.query(
      `INSERT INTO "${schema}".schema_version (version) VALUES (${SCHEMA_VERSION + 1})`,
    );
    const error = await migrate(pools[1]!, schema).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).code).toBe('IO');
    expect((error as SessionError).message).toMatch(/newer than this/);
  });
});
