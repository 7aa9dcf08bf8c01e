import { readSession, type SessionSnapshot } from '@savepoint/session';
import { type BacklogIndex, createBacklogIndex } from '@savepoint/task-schema';
import type { Io } from '../run.ts';
import { pickSession, type Store } from '../store.ts';

/** What a command module gives the command table. */
export interface CliCommand {
  /** `false` for a command that takes no positional arguments. */
  positionals?: false;
  run(
    values: Record<string, string | boolean | undefined>,
    positionals: string[],
    io: Io,
  ): Promise<number>;
}

/** Reads the chosen session of the command's store without locking it. */
export async function readChosen(
  { store }: Store,
  values: Record<string, unknown>,
): Promise<{ snapshot: SessionSnapshot; index: BacklogIndex }> {
  const target = await pickSession(store, values.session as string | undefined);
  const snapshot = await readSession(target.path, { store });
  return { snapshot, index: createBacklogIndex(snapshot.backlog) };
}

/** Prints one JSON object or text lines. */
export function print(io: Io, json: unknown, lines: string[] | undefined): void {
  io.stdout.write(lines === undefined ? `${JSON.stringify(json)}\n` : `${lines.join('\n')}\n`);
}
