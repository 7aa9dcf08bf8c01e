import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';

/**
 * For a delta session: marks Complete every subtask of `next` whose id and title are unchanged
 * from a Complete subtask of `parent`, so work already done is not done again, and rolls the
 * change up to the containers it completes. Returns the new backlog and the ids carried over.
 */
export function carryOverComplete(
  next: Backlog,
  parent: Backlog,
): { backlog: Backlog; carried: string[] } {
  const done = new Map<string, string>();
  for (const subtask of createBacklogIndex(parent).subtasks()) {
    if (subtask.status === 'Complete') done.set(subtask.id, subtask.title);
  }
  const index = createBacklogIndex(next);
  const carried: string[] = [];
  for (const subtask of index.subtasks()) {
    if (subtask.status !== 'Complete' && done.get(subtask.id) === subtask.title) {
      index.setStatus(subtask.id, 'Complete');
      carried.push(subtask.id);
    }
  }
  return { backlog: index.backlog, carried };
}
