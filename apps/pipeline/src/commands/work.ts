import { hostname } from 'node:os';
import { mergeRunConfig, readRunConfig } from '@savepoint/runner';
import {
  formatJoinOpening,
  importSessionFolder,
  readSharedRunConfig,
} from '@savepoint/store-postgres';
import { execution } from '../args.ts';
import { CliError } from '../errors.ts';
import { single, wholeNumber } from '../options.ts';
import { pickSession, withPostgres } from '../store.ts';
import { DEFAULT_LEASE_MS, workShared } from '../work.ts';
import type { CliCommand } from './shared.ts';

/** `savepoint work --store URL`: joins a session of the database as more workers. */
export const work: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    const { exec, simulateMs, output, json, concurrency, timeoutMs } = execution(values);
    const leaseMs = wholeNumber(
      values['lease-ms'] as string | undefined,
      '--lease-ms',
      DEFAULT_LEASE_MS,
      100,
    );
    return withPostgres(values, io.env, 'work', async (pg) => {
      const session = await pickSession(pg.store, values.session as string | undefined);
      const stored = await readSharedRunConfig(pg.store, session.id);
      const config = mergeRunConfig(stored, { exec, timeoutMs });
      if (config.exec === undefined && simulateMs === undefined) {
        throw new CliError(
          `session ${session.id} has no stored worker command: give --exec CMD (or start it with savepoint run --store URL --exec CMD)`,
        );
      }
      const slots = concurrency ?? config.concurrency ?? 1;
      return await workShared(
        pg,
        session.id,
        config,
        {
          concurrency: slots,
          leaseMs,
          simulateMs,
          output,
          json,
          opening: formatJoinOpening({
            session: session.id,
            url: pg.url,
            workerId: `${hostname()}/${process.pid}`,
            concurrency: slots,
            leaseMs,
          }),
        },
        io,
      );
    });
  },
};

/** `savepoint export --store URL [--session ID]`: the session's tasks.json on stdout. */
export const exportTasks: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    return withPostgres(values, io.env, 'export', async (pg) => {
      const session = await pickSession(pg.store, values.session as string | undefined);
      io.stdout.write(await pg.store.exportTasks(session.id));
      return 0;
    });
  },
};

/** `savepoint import <session folder> --store URL`: a file session into the database. */
export const importSession: CliCommand = {
  async run(values, positionals, io) {
    const folder = single(positionals, 'import', '<session folder>');
    return withPostgres(values, io.env, 'import', async (pg) => {
      await readRunConfig(folder); // a damaged run.json is refused before anything is written
      const result = await importSessionFolder(pg.store, folder);
      if (result.status === 'exists') {
        throw new CliError(
          `session ${result.session.id} in ${pg.store.location} already has the PRD hash ${result.session.hash}; nothing was imported (work on it with: savepoint work --store URL --session ${result.session.id})`,
        );
      }
      io.stderr.write(`Imported ${folder} as session ${result.session.id}\n`);
      io.stdout.write(`${result.session.id}\n`);
      return 0;
    });
  },
};
