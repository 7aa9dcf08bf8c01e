import { SessionError } from '@savepoint/session';
import { redactConnectionString } from './import-session.ts';
import {
  createPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
} from './postgres-store.ts';

/**
 * Whether `text` is a connection string this package takes: a URL written `postgres://...` or
 * `postgresql://...`. For checking a command-line option before anything connects.
 *
 * @example
 * isPostgresUrl('postgres://ann@db.example/pipeline'); // true
 * isPostgresUrl('db.example/pipeline'); // false
 */
export function isPostgresUrl(text: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(text)) return false;
  try {
    return /^postgres(ql)?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}

/**
 * Connects to the database of `connectionString` and makes or upgrades the store's tables: a
 * store ready to use, or one error saying why the database cannot be used. The store owns its
 * pool: `close()` it when done.
 *
 * @example
 * const store = await openPostgresStore(process.env.DATABASE_URL!);
 * try {
 *   console.log(await store.list());
 * } finally {
 *   await store.close();
 * }
 * @throws SessionError `IO` when the server cannot be reached, refuses the login, or has tables
 *   of a newer version: the message is one line naming the URL without its password and the
 *   innermost cause (`cannot use the PostgreSQL store postgres://ann@db/x: connect ECONNREFUSED
 *   ...`); `cause` is the original error
 */
export async function openPostgresStore(
  connectionString: string,
  options: Omit<PostgresStoreOptions, 'connectionString' | 'pool'> = {},
): Promise<PostgresStore> {
  const store = createPostgresStore({ ...options, connectionString });
  try {
    await store.migrate();
  } catch (cause) {
    await store.close().catch(() => undefined);
    throw new SessionError(
      'IO',
      `cannot use the PostgreSQL store ${redactConnectionString(connectionString)}: ${rootCause(cause)}`,
      { cause },
    );
  }
  return store;
}

/** The innermost message of an error chain, on one line. */
function rootCause(error: unknown): string {
  let at = error;
  while (at instanceof Error && at.cause !== undefined) at = at.cause;
  const message = at instanceof Error ? at.message || (at as { code?: string }).code : String(at);
  return String(message ?? 'unknown error')
    .replace(/\s+/g, ' ')
    .trim();
}
