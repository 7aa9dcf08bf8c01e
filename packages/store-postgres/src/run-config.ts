import { parseRunConfig, RUN_CONFIG_FILE, type RunConfig } from '@savepoint/runner';
import type { SessionRef } from '@savepoint/session';
import type { PostgresStore } from './postgres-store.ts';

/**
 * How a session of the store is run: its `run.json` artifact (written by whoever created the
 * session, or imported with it), read without holding the session; `{}` when it has none. A
 * worker joining the session uses it for the worker command, retries and scope it was not given.
 *
 * @example
 * const config = await readSharedRunConfig(store, '001_14b9dc2a33c7');
 * const worker = commandWorker(config.exec ?? 'make item');
 * @throws RunnerError `INVALID_CONFIG` when the artifact is not a run configuration (the message
 *   names it `run.json of session <id>`)
 */
export async function readSharedRunConfig(
  store: PostgresStore,
  session: SessionRef,
): Promise<RunConfig> {
  const text = await store.readArtifact(session, RUN_CONFIG_FILE);
  return text === null ? {} : parseRunConfig(text, `${RUN_CONFIG_FILE} of session ${session}`);
}
