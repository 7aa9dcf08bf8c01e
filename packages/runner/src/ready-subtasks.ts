import type { ReadonlyBacklogIndex } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import { blockedSubtasks } from './report.ts';

/** A subtask that can run now; see {@link readySubtasks}. */
export interface ReadySubtask {
  readonly id: string;
  readonly title: string;
  /** Planned, or a status a run takes again (Failed, Retrying, or one left in flight). */
  readonly status: Status;
}

type ReadyIndex = Pick<
  ReadonlyBacklogIndex,
  'subtasks' | 'isReady' | 'blockers' | 'ancestors' | 'countByStatus'
>;

/**
 * The subtasks under `scope` (the whole backlog without it) that are ready now: not done, with
 * every dependency done, in the depth-first order a run takes them. A Failed subtask whose
 * dependencies are done is ready, since a run takes it again.
 *
 * @example
 * for (const { id, title } of readySubtasks(createBacklogIndex(backlog), 'P1.M2')) {
 *   console.log(id, title);
 * }
 * @throws BacklogError `UNKNOWN_ID` when `scope` names no item
 */
export function readySubtasks(index: ReadyIndex, scope?: string): ReadySubtask[] {
  return index
    .subtasks(scope)
    .filter((s) => index.isReady(s.id))
    .map(({ id, title, status }) => ({ id, title, status }));
}

/**
 * The text lines of {@link readySubtasks} for session `session`: a heading with their number and
 * one line each (`(Failed, runs again)` after one that is not Planned), or, when none is ready,
 * one line with the subtasks in scope that are complete, failed and blocked by a failure.
 *
 * @example
 * formatReadySubtasks(index, '001_14b9dc2a33c7');
 * // ['Ready now in session 001_14b9dc2a33c7 (2):', '  P1.M1.T1.S2  Parse', '  P1.M1.T2.S1  Lex']
 * @throws BacklogError `UNKNOWN_ID` when `scope` names no item
 */
export function formatReadySubtasks(index: ReadyIndex, session: string, scope?: string): string[] {
  const ready = readySubtasks(index, scope);
  if (ready.length === 0) {
    const counts = index.countByStatus(scope);
    const blocked = blockedSubtasks(index, scope).size;
    return [
      `Nothing is ready in session ${session}: ${counts.Complete} complete, ${counts.Failed} failed, ${blocked} blocked by a failure.`,
    ];
  }
  const lines = ready.map(
    (s) => `  ${s.id}  ${s.title}${s.status === 'Planned' ? '' : ` (${s.status}, runs again)`}`,
  );
  return [`Ready now in session ${session} (${ready.length}):`, ...lines];
}
