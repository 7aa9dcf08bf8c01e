import type { SessionManager } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import { syncErrorReport } from './report.ts';

/** What {@link setItemStatus} changed. */
export interface SetStatusResult {
  /** The item's status before. */
  readonly from: Status;
  /** The item's status after (a container's as rolled up from its subtasks). */
  readonly to: Status;
  /** The subtasks that were given the status, in execution order. */
  readonly subtasks: readonly string[];
  /** What happened to `ERROR_REPORT.md` (see {@link syncErrorReport}). */
  readonly errorReport: 'written' | 'removed' | 'unchanged';
}

/**
 * Sets an item's status by hand in the open session, as a person does between runs (a Failed
 * subtask marked Obsolete, or reset to Planned): a subtask gets `status`; a container's subtasks
 * all get it and the container rolls up from them (a container without subtasks gets it itself).
 * The changes are then flushed, the backlog saved and `ERROR_REPORT.md` brought in line with the
 * Failed subtasks left.
 *
 * @example
 * await manager.loadSession('plan/001_14b9dc2a33c7');
 * const { from, to } = await setItemStatus(manager, 'P1.M2', 'Obsolete');
 * await manager.close();
 * @throws SessionError `UNKNOWN_ITEM` for an id the backlog lacks, `NO_SESSION`; a SessionError
 *   when the session or the report cannot be written
 */
export async function setItemStatus(
  manager: SessionManager,
  id: string,
  status: Status,
): Promise<SetStatusResult> {
  const item = manager.index.get(id);
  const subtasks = item?.type === 'Subtask' ? [item] : item ? manager.index.subtasks(id) : [];
  for (const subtask of subtasks) manager.updateItemStatus(subtask.id, status);
  // A container without subtasks takes the status itself; an unknown id is refused here.
  if (subtasks.length === 0) manager.updateItemStatus(id, status);
  await manager.flushUpdates();
  await manager.saveBacklog(manager.currentSession!.taskRegistry);
  return {
    from: item!.status,
    to: manager.index.get(id)!.status,
    subtasks: subtasks.map((subtask) => subtask.id),
    errorReport: await syncErrorReport(manager, []),
  };
}
