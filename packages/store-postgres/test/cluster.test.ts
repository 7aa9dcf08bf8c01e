import pg from 'pg';
import { expect, it } from 'vitest';
import { describePg, useDatabase } from './helpers.ts';

describePg('the throwaway cluster', () => {
  const database = useDatabase();

  it('serves a database of this test file only, on 127.0.0.1', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'SELECT current_database() AS name, inet_server_addr()::text AS addr',
      );
      expect(rows[0].name).toBe(new URL(database.url).pathname.slice(1));
      expect(rows[0].addr).toBe('127.0.0.1/32');
    } finally {
      await client.end();
    }
  });
});
