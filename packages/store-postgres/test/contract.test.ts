import { describeStoreContract } from '@savepoint/session/contract';
import { describe, expect, it } from 'vitest';
import { createPostgresStore } from '../src/index.ts';
import { describePg, freshSchema, useDatabase } from './helpers.ts';

// The one contract suite every session store runs, against PostgreSQL: each test gets a fresh,
// empty schema of this file's database.
describePg('PostgreSQL store', () => {
  const database = useDatabase();
  describeStoreContract(
    'PostgreSQL store',
    () => {
      const store = createPostgresStore({
        connectionString: database.url,
        schema: freshSchema('contract'),
      });
      return { store, cleanup: () => store.close() };
    },
    { describe, it, expect },
  );
});
