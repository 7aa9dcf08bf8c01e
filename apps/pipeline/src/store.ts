import { resolve } from 'node:path';
import {
  createFileStore,
  pickSession as findSession,
  SessionError,
  type SessionStore,
} from '@savepoint/session';
import {
  isPostgresUrl,
  openPostgresStore,
  type PostgresStore,
  redactConnectionString,
} from '@savepoint/store-postgres';
import { CliError, EXIT } from './errors.ts';
import { UsageError } from './options.ts';

/** Where a command's sessions are: the plan folder's file store, or a PostgreSQL database. */
export type Store =
  | { kind: 'file'; store: SessionStore; planDir: string; close(): Promise<void> }
  | {
      kind: 'postgres';
      store: PostgresStore;
      planDir: string;
      url: string;
      close(): Promise<void>;
    };

/** The options that choose a store, as parsed from argv. */
export interface StoreFlags {
  readonly store?: unknown;
  readonly 'plan-dir'?: unknown;
}

/** The `--store` URL, or `SAVEPOINT_STORE` when the flag is absent; `undefined` for neither. */
export function storeUrl(values: StoreFlags, env: NodeJS.ProcessEnv): string | undefined {
  const given = (values.store as string | undefined) ?? (env.SAVEPOINT_STORE || undefined);
  if (given === undefined) return undefined;
  const from = values.store === undefined ? 'SAVEPOINT_STORE' : '--store';
  if (given === '') throw new UsageError(`${from} needs a postgres:// or postgresql:// URL`);
  if (!isPostgresUrl(given)) {
    throw new UsageError(
      `${from} must be a postgres:// or postgresql:// URL, got ${redactConnectionString(given)}`,
    );
  }
  return given;
}

/**
 * Opens the command's store: PostgreSQL for a `--store`/`SAVEPOINT_STORE` URL (its tables made or
 * upgraded), else the file store of `--plan-dir`. A server that cannot be used is one line naming
 * the URL without its password, exit 4.
 */
export async function openStore(values: StoreFlags, env: NodeJS.ProcessEnv): Promise<Store> {
  const planDir = resolve((values['plan-dir'] as string | undefined) ?? 'plan');
  const url = storeUrl(values, env);
  if (url === undefined) {
    return { kind: 'file', store: createFileStore(planDir), planDir, close: async () => {} };
  }
  const store = await openPostgresStore(url).catch((error: Error) => {
    throw new CliError(error.message, EXIT.ENVIRONMENT);
  });
  return { kind: 'postgres', store, planDir, url, close: () => store.close() };
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
