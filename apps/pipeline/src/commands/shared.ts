import { resolve } from 'node:path';
import { readSession, type SessionSnapshot } from '@savepoint/session';
import { type BacklogIndex, createBacklogIndex } from '@savepoint/task-schema';
import { pickSession } from '../main.ts';
import type { Spec } from '../options.ts';
import type { Io } from '../run.ts';

export { SESSION_SPEC } from '../options.ts';

/** What a command module gives the command table. */
export interface CliCommand {
  options: Spec;
  run(
    values: Record<string, string | boolean | undefined>,
    positionals: string[],
    io: Io,
  ): Promise<number>;
}

/** Reads the chosen session without locking it. */
export async function readChosen(
  values: Record<string, unknown>,
): Promise<{ planDir: string; snapshot: SessionSnapshot; index: BacklogIndex }> {
  const planDir = resolve((values['plan-dir'] as string | undefined) ?? 'plan');
  const target = await pickSession(planDir, values.session as string | undefined);
  const snapshot = await readSession(target.path);
  return { planDir, snapshot, index: createBacklogIndex(snapshot.backlog) };
}

/** Prints one JSON object or text lines. */
export function print(io: Io, json: unknown, lines: string[] | undefined): void {
  io.stdout.write(lines === undefined ? `${JSON.stringify(json)}\n` : `${lines.join('\n')}\n`);
}
