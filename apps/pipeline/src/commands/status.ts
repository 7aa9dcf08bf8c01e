import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatSessionStatus, sessionStatus } from '@savepoint/runner';
import { formatSessionTable, readSessions, sessionRows } from '@savepoint/session';
import { describeError } from '../describe-error.ts';
import { type Store, withStore } from '../store.ts';
import { type CliCommand, print, readChosen } from './shared.ts';

/** `savepoint status`: where a session stands, with the fields `run --json` reports. */
export const status: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    const { snapshot, index, qaFailed } = await withStore(values, io.env, async (store) => {
      const chosen = await readChosen(store, values);
      return { ...chosen, qaFailed: await hasTestResults(store, chosen.snapshot.metadata) };
    });
    const tree = values.tree === true;
    if (values.json) {
      const report = sessionStatus(snapshot, index, { qaFailed });
      print(io, tree ? { ...report, backlog: snapshot.backlog } : report, undefined);
    } else print(io, null, formatSessionStatus(snapshot, index, { qaFailed, tree }));
    return 0;
  },
};

/** `savepoint sessions`: every session of a plan folder; a damaged one is listed as damaged. */
export const sessions: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    return withStore(values, io.env, async ({ store }) => {
      const readings = await readSessions(store);
      const rows = sessionRows(readings);
      if (values.json) print(io, { planDir: store.location, sessions: rows }, undefined);
      else print(io, null, formatSessionTable(rows, store.location));
      // The row has the first line of what is wrong; the full message says how to recover.
      const damaged = readings.flatMap(({ error }) => (error ? [describeError(error)] : []));
      for (const { message } of damaged) {
        io.stderr.write(`savepoint: damaged session: ${message}\n`);
      }
      return damaged.length > 0 ? 2 : 0;
    });
  },
};

/** Whether the session's last QA failed: it has a TEST_RESULTS.md. */
async function hasTestResults(store: Store, metadata: { id: string; path: string }) {
  if (store.kind === 'postgres') {
    return (await store.store.readArtifact(metadata.id, 'TEST_RESULTS.md')) !== null;
  }
  return existsSync(join(metadata.path, 'TEST_RESULTS.md'));
}
