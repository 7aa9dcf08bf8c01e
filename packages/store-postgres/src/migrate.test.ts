import { SessionError } from '@savepoint/session';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePg, freshSchema, useDatabase } from '../test/helpers.ts';
import { migrations } from './internal/schema-sql.ts';
import { channelName, quoteIdent, quoteLiteral } from './internal/sql.ts';
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

  it('upgrades a schema of version 1: the outcome function then records roll-up events', async () => {
    const schema = freshSchema('m');
    const q = quoteIdent(schema);
    const [first] = migrations(q, quoteLiteral(channelName(schema)));
    // Version 1 as the first release left it, with a subtask claimed under it.
    await pools[0]!.query(`CREATE SCHEMA ${q}`);
    await pools[0]!.query(
      `CREATE TABLE ${q}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    await pools[0]!.query(first!);
    await pools[0]!.query(`INSERT INTO ${q}.schema_version (version) VALUES (1)`);
    await pools[0]!.query(
      `INSERT INTO ${q}.sessions (id, sequence, hash, prd_snapshot, document, snapshot_text)
       VALUES ('001_aaaaaaaaaaaa', 1, 'aaaaaaaaaaaa', '\\x', '{}', '{}')`,
    );
    await pools[0]!.query(
      `INSERT INTO ${q}.items (session_id, id, parent_id, path, level, position, subtree_end, status, raw,
                               lease_owner, lease_token, lease_expires_at, attempt)
       VALUES ('001_aaaaaaaaaaaa', 'P1', NULL, '{}', 0, 0, 2, 'Implementing', '{}', NULL, NULL, NULL, 0),
              ('001_aaaaaaaaaaaa', 'P1.S', 'P1', '{P1}', 3, 1, 2, 'Implementing', '{}',
               'w', '00000000-0000-4000-8000-000000000001', now() + interval '1 hour', 1)`,
    );
    expect(await migrate(pools[1]!, schema)).toEqual({ from: 1, to: SCHEMA_VERSION });
    const { rows } = await pools[0]!.query(
      `SELECT ${q}.record_outcome('001_aaaaaaaaaaaa', 'P1.S', '00000000-0000-4000-8000-000000000001', 'Complete', NULL) AS recorded`,
    );
    expect(rows).toEqual([{ recorded: true }]);
    const events = await pools[0]!.query(
      `SELECT item_id, kind, from_status, to_status, worker_id, attempt FROM ${q}.events ORDER BY id`,
    );
    expect(events.rows).toEqual([
      {
        item_id: 'P1.S',
        kind: 'record',
        from_status: 'Implementing',
        to_status: 'Complete',
        worker_id: 'w',
        attempt: 1,
      },
      {
        item_id: 'P1',
        kind: 'rollup',
        from_status: 'Implementing',
        to_status: 'Complete',
        worker_id: 'w',
        attempt: 1,
      },
    ]);
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
