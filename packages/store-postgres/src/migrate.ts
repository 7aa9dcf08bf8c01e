import { SessionError } from '@savepoint/session';
import type pg from 'pg';
import { migrations } from './internal/schema-sql.ts';
import { channelName, quoteIdent, quoteLiteral } from './internal/sql.ts';

/** What {@link migrate} did. */
export interface MigrationResult {
  /** The schema version found (0 for a database the store never touched). */
  readonly from: number;
  /** The schema version now (the newest this package knows). */
  readonly to: number;
}

/** The newest schema version this package knows. */
export const SCHEMA_VERSION: number = migrations('x', "'x'").length;

/**
 * Creates or upgrades the store's tables in `schema`: versioned (a `schema_version` table records
 * each migration applied), idempotent (a database already at the newest version is left as it is)
 * and safe when several processes migrate at once: one transaction holding an advisory lock per
 * schema applies what is missing, and the others then find nothing left to do.
 *
 * @throws SessionError `IO` when the database is at a newer version than this package knows (a
 *   newer savepoint migrated it), or the database fails
 */
export async function migrate(pool: pg.Pool, schema: string): Promise<MigrationResult> {
  const q = quoteIdent(schema);
  const steps = migrations(q, quoteLiteral(channelName(schema)));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `savepoint:migrate:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${q}.schema_version (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(
      `SELECT coalesce(max(version), 0) AS version FROM ${q}.schema_version`,
    );
    const from = rows[0]!.version;
    if (from > steps.length) {
      throw new SessionError(
        'IO',
        `schema ${schema} is at version ${from}, newer than this @savepoint/store-postgres knows (${steps.length}); upgrade the package`,
      );
    }
    for (let version = from + 1; version <= steps.length; version++) {
      await client.query(steps[version - 1]!);
      await client.query(`INSERT INTO ${q}.schema_version (version) VALUES ($1)`, [version]);
    }
    await client.query('COMMIT');
    return { from, to: steps.length };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if (error instanceof SessionError) throw error;
    throw new SessionError('IO', `migrating schema ${schema} failed: ${errorText(error)}`, {
      cause: error,
    });
  } finally {
    client.release();
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
