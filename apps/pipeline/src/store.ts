import { resolve } from 'node:path';
import { pickSession as findSession, SessionError, type SessionStore } from '@savepoint/session';
import {
  checkStoreUrl,
  type OpenedSessionStore,
  openSessionStore,
} from '@savepoint/store-postgres';
import { CliError, EXIT } from './errors.ts';
import { UsageError } from './options.ts';

/** Where a command's sessions are: the plan folder's file store, or a PostgreSQL database. */
export type Store = OpenedSessionStore;

/** The options that choose a store, as parsed from argv. */
export interface StoreFlags {
  readonly store?: unknown;
  readonly 'plan-dir'?: unknown;
}

/** The `--store` URL, or `SAVEPOINT_STORE` when the flag is absent; `undefined` for neither. */
export function storeUrl(values: StoreFlags, env: NodeJS.ProcessEnv): string | undefined {
  const given = givenUrl(values, env);
  if (given === undefined) return undefined;
  try {
    return checkStoreUrl(given.url, given.from);
  } catch (error) {
    throw cliError(error, given);
  }
}

/**
 * Opens the command's store: PostgreSQL for a `--store`/`SAVEPOINT_STORE` URL (its tables made or
 * upgraded), else the file store of `--plan-dir`. A malformed URL is a usage error (exit 2); a
 * server that cannot be used is one line naming the URL without its password, exit 4.
 */
export async function openStore(values: StoreFlags, env: NodeJS.ProcessEnv): Promise<Store> {
  const given = givenUrl(values, env);
  return openSessionStore({
    planDir: resolve((values['plan-dir'] as string | undefined) ?? 'plan'),
    url: given?.url,
    urlSource: given?.from,
  }).catch((error: unknown) => {
    throw cliError(error, given);
  });
}

/** Runs `work` with the command's store open, and closes it afterwards. */
export async function withStore<T>(
  values: StoreFlags,
  env: NodeJS.ProcessEnv,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(values, env);
  try {
    return await work(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** The store of a command that needs PostgreSQL: `work`, `export`, `import`, `run --store`. */
export type PostgresOpen = Extract<Store, { kind: 'postgres' }>;

/** Runs `work` with the PostgreSQL store the command needs open, and closes it afterwards. */
export async function withPostgres<T>(
  values: StoreFlags,
  env: NodeJS.ProcessEnv,
  command: string,
  work: (pg: PostgresOpen) => Promise<T>,
): Promise<T> {
  if (storeUrl(values, env) === undefined) {
    throw new UsageError(`${command} needs --store postgres://... (or SAVEPOINT_STORE)`);
  }
  return withStore(values, env, (store) => work(store as PostgresOpen));
}

/** The session `wanted` (id, sequence number or PRD hash) of a store, or its latest. */
export async function pickSession(store: SessionStore, wanted: string | undefined) {
  return findSession(store, wanted).catch((error: unknown) => {
    if (!(error instanceof SessionError) || error.code !== 'NOT_FOUND' || wanted !== undefined)
      throw error;
    throw new CliError(`${error.message}; start one with: savepoint run <prd.md>`);
  });
}

/** The URL given by `--store`, else by a non-empty `SAVEPOINT_STORE`, and which of them gave it. */
function givenUrl(values: StoreFlags, env: NodeJS.ProcessEnv) {
  if (values.store !== undefined) return { url: values.store as string, from: '--store' };
  return env.SAVEPOINT_STORE ? { url: env.SAVEPOINT_STORE, from: 'SAVEPOINT_STORE' } : undefined;
}

/**
 * The CLI's error for a store that cannot be opened: a malformed URL is a usage error (exit 2),
 * a database that cannot be used an environment failure (exit 4).
 */
function cliError(error: unknown, given: object | undefined): unknown {
  if (!(error instanceof SessionError)) return error;
  if (error.code === 'INVALID_URL') return new UsageError(error.message);
  if (error.code === 'IO' && given !== undefined)
    return new CliError(error.message, EXIT.ENVIRONMENT);
  return error;
}
