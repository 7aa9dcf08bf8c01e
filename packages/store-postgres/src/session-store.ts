import { resolve } from 'node:path';
import { createFileStore, SessionError, type SessionStore } from '@savepoint/session';
import { redactConnectionString } from './import-session.ts';
import { isPostgresUrl, openPostgresStore } from './open-store.ts';
import type { PostgresStore, PostgresStoreOptions } from './postgres-store.ts';

/** Options of {@link openSessionStore}. */
export interface OpenSessionStoreOptions {
  /**
   * A `postgres://` or `postgresql://` URL: the sessions are in that database. Absent (or
   * `undefined`): they are in the file store of {@link OpenSessionStoreOptions.planDir}. An empty
   * string is a URL that was given empty, not an absent one.
   */
  readonly url?: string | undefined;
  /**
   * The plan folder: the file store's folder, and with PostgreSQL the local folder for what only
   * this machine needs (worker logs). Resolved against the working directory.
   */
  readonly planDir: string;
  /**
   * Where {@link OpenSessionStoreOptions.url} came from (an option, an environment variable),
   * named by the error of a malformed one.
   * @default 'the store URL'
   */
  readonly urlSource?: string | undefined;
  /** Options of the PostgreSQL store (`schema`, `pollIntervalMs`, `maxConnections`). */
  readonly postgres?: Omit<PostgresStoreOptions, 'connectionString' | 'pool'>;
}

/** A session store opened by {@link openSessionStore}, with its plan folder. Call `close()`. */
export type OpenedSessionStore =
  | { kind: 'file'; store: SessionStore; planDir: string; close(): Promise<void> }
  | {
      kind: 'postgres';
      store: PostgresStore;
      planDir: string;
      /** The URL as given (with its password: redact it before showing it). */
      url: string;
      close(): Promise<void>;
    };

/**
 * `url` if it is a connection string this package takes (`postgres://...` or
 * `postgresql://...`), for checking an option before anything connects.
 *
 * @param source - where `url` came from, the start of the error's message
 * @example
 * checkStoreUrl(process.env.DATABASE_URL ?? '', 'DATABASE_URL');
 * // SessionError INVALID_URL: 'DATABASE_URL needs a postgres:// or postgresql:// URL'
 * @throws SessionError `INVALID_URL` when `url` is empty (`<source> needs a postgres:// or
 *   postgresql:// URL`) or not such a URL (`<source> must be a postgres:// or postgresql:// URL,
 *   got <url without its password>`)
 */
export function checkStoreUrl(url: string, source = 'the store URL'): string {
  if (url === '') {
    throw new SessionError('INVALID_URL', `${source} needs a postgres:// or postgresql:// URL`);
  }
  if (!isPostgresUrl(url)) {
    throw new SessionError(
      'INVALID_URL',
      `${source} must be a postgres:// or postgresql:// URL, got ${redactConnectionString(url)}`,
    );
  }
  return url;
}

/**
 * Opens where a tool's sessions are: the PostgreSQL store of `url` (its tables made or upgraded)
 * when one is given, else the file store of `planDir`. What a command-line tool embedding
 * savepoint does with a `--store` option; a file store opens without touching the disk.
 *
 * @example
 * const opened = await openSessionStore({ url: process.env.SAVEPOINT_STORE, planDir: 'plan' });
 * try {
 *   console.log(opened.kind, (await opened.store.list()).sessions.length);
 * } finally {
 *   await opened.close();
 * }
 * @throws SessionError `INVALID_URL` (before connecting) when `url` is empty or not a
 *   `postgres://` URL (see {@link checkStoreUrl}); `IO` when the server cannot be used (see
 *   {@link openPostgresStore})
 */
export async function openSessionStore(
  options: OpenSessionStoreOptions,
): Promise<OpenedSessionStore> {
  if (typeof options?.planDir !== 'string' || options.planDir === '') {
    throw new TypeError(
      `openSessionStore expected options with a planDir folder, got ${typeof options?.planDir === 'string' ? 'an empty planDir' : typeof options?.planDir}`,
    );
  }
  const planDir = resolve(options.planDir);
  if (options.url === undefined) {
    return { kind: 'file', store: createFileStore(planDir), planDir, close: async () => {} };
  }
  const url = checkStoreUrl(options.url, options.urlSource);
  const store = await openPostgresStore(url, options.postgres);
  return { kind: 'postgres', store, planDir, url, close: () => store.close() };
}
