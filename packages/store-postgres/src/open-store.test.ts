import { SessionError } from '@savepoint/session';
import { describe, expect, it } from 'vitest';
import { describePg, freshSchema, useDatabase } from '../test/helpers.ts';
import { isPostgresUrl, openPostgresStore, SCHEMA_VERSION } from './index.ts';

describe('isPostgresUrl', () => {
  it('takes postgres:// and postgresql:// URLs and nothing else', () => {
    expect(isPostgresUrl('postgres://ann:pw@db.example:5432/pipeline')).toBe(true);
    expect(isPostgresUrl('postgresql://localhost/pipeline')).toBe(true);
    expect(isPostgresUrl('postgres:/localhost/pipeline')).toBe(false);
    expect(isPostgresUrl('mysql://localhost/pipeline')).toBe(false);
    expect(isPostgresUrl('db.example/pipeline')).toBe(false);
    expect(isPostgresUrl('postgres://ann:pw@[::1/db')).toBe(false);
    expect(isPostgresUrl('')).toBe(false);
  });
});

describe('openPostgresStore', () => {
  it('fails with one line naming the URL without its password when the server is unreachable', async () => {
    const error = await openPostgresStore('postgres://ann:s3cret@127.0.0.1:1/db').catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SessionError);
    expect(error).toMatchObject({ code: 'IO' });
    const { message, cause } = error as SessionError;
    expect(message).toMatch(
      /^cannot use the PostgreSQL store postgres:\/\/ann@127\.0\.0\.1:1\/db: /,
    );
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('s3cret');
    expect(message).not.toContain('\n');
    expect(cause).toBeInstanceOf(Error);
  });
});

describePg('openPostgresStore on a server', () => {
  const database = useDatabase();

  it('opens a store whose tables are made', async () => {
    const store = await openPostgresStore(database.url, { schema: freshSchema('o') });
    try {
      expect((await store.list()).sessions).toEqual([]);
      // The open made the tables of a fresh schema (a store migrates once and remembers it).
      expect(await store.migrate()).toEqual({ from: 0, to: SCHEMA_VERSION });
    } finally {
      await store.close();
    }
  });
});
