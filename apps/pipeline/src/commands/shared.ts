import { resolve } from 'node:path';
import { readSession, type SessionSnapshot } from '@savepoint/session';
import { type BacklogIndex, createBacklogIndex, type Status } from '@savepoint/task-schema';
import type { Io } from '../execute.ts';
import { pickSession } from '../main.ts';
import type { Spec } from '../options.ts';

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

type Index = Pick<BacklogIndex, 'subtasks' | 'blockers' | 'ancestors'>;

/**
 * Subtasks in scope, neither done nor Failed, that wait (directly or through other blocked work)
 * on a Failed subtask, each with the dependencies it waits on.
 */
export function blockedSubtasks(index: Index, scope?: string): Map<string, string[]> {
  const stuck = new Map<string, string[]>();
  const failing = new Set<string>();
  const mark = (id: string) => {
    failing.add(id);
    for (const container of index.ancestors(id)) failing.add(container.id);
  };
  for (const s of index.subtasks()) if (s.status === 'Failed') mark(s.id);
  // Depth-first order puts most dependencies first; repeat until nothing new is found.
  for (let grew = failing.size > 0; grew; ) {
    grew = false;
    for (const subtask of index.subtasks(scope)) {
      if (DONE.has(subtask.status) || subtask.status === 'Failed' || stuck.has(subtask.id))
        continue;
      const waits = index.blockers(subtask.id).filter((id) => failing.has(id));
      if (waits.length > 0) {
        stuck.set(subtask.id, waits);
        mark(subtask.id);
        grew = true;
      }
    }
  }
  return stuck;
}

const DONE = new Set<Status>(['Complete', 'Obsolete']);

/** Prints one JSON object or text lines. */
export function print(io: Io, json: unknown, lines: string[] | undefined): void {
  io.stdout.write(lines === undefined ? `${JSON.stringify(json)}\n` : `${lines.join('\n')}\n`);
}
