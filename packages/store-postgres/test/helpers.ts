import { afterAll, beforeAll, describe, inject } from 'vitest';
import { createDatabase, type TestDatabase } from './cluster.mjs';

/** The throwaway cluster of this test run, or `null` when none could start. */
export const server = inject('postgres');

/** `describe`, skipped (with the global setup's loud warning) when no server could start. */
export const describePg = describe.skipIf(server === null);

/** The connection string of a database of the test cluster. */
export function clusterUrl(database = 'postgres'): string {
  if (server === null) throw new Error('no PostgreSQL server in this test run');
  return `postgres://${server.user}@${server.host}:${server.port}/${database}`;
}

/**
 * A fresh database for the calling test file, created before its tests and dropped after them.
 * Read `.url` inside tests or hooks, not at module level.
 */
export function useDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    if (server === null) return;
    database = await createDatabase({ url: clusterUrl });
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get url() {
      if (database === undefined) throw new Error('useDatabase: read .url inside a test or hook');
      return database.url;
    },
  };
}

let schemas = 0;

/** A schema name no other test of this file uses, for tests that need their own tables. */
export function freshSchema(prefix = 's'): string {
  schemas++;
  return `${prefix}_${schemas}_${Math.random().toString(36).slice(2, 8)}`;
}
