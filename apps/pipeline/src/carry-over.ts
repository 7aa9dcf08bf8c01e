import { type Backlog, type BacklogIndex, createBacklogIndex } from '@savepoint/task-schema';

/** What {@link carryOverComplete} did. */
export interface CarryOver {
  /** The new backlog, with carried subtasks (and the containers they complete) set Complete. */
  backlog: Backlog;
  /** Ids, in the new backlog, of the subtasks that were carried over, depth-first. */
  carried: string[];
}

/**
 * For a delta session: marks Complete every subtask of `next` whose work was already done in
 * `parent`, so it is not done again, and rolls the change up to the containers it completes.
 *
 * The same work means the same content, never the same position or id: a subtask of `next` is
 * carried over when `parent` has a Complete subtask with the same title, under ancestors with the
 * same titles (Phase, Milestone, Task), and with the same `context_scope`. So a moved or
 * reordered section keeps its work, a new section whose items repeat an old section's texts runs,
 * and an edited item (or one whose context changed) runs again. Identical subtasks (same key) are
 * matched one to one: two Complete copies in `parent` carry over at most two in `next`, in order.
 */
export function carryOverComplete(next: Backlog, parent: Backlog): CarryOver {
  const done = new Map<string, number>();
  const before = createBacklogIndex(parent);
  for (const subtask of before.subtasks()) {
    if (subtask.status !== 'Complete') continue;
    const key = workKey(before, subtask.id);
    done.set(key, (done.get(key) ?? 0) + 1);
  }
  const index = createBacklogIndex(next);
  const carried: string[] = [];
  for (const subtask of index.subtasks()) {
    const key = workKey(index, subtask.id);
    const left = done.get(key) ?? 0;
    if (left === 0) continue;
    done.set(key, left - 1);
    // A subtask the new backlog already marks Complete still uses up its match, so a duplicate
    // after it is not carried on the strength of the same old work.
    if (subtask.status === 'Complete') continue;
    index.setStatus(subtask.id, 'Complete');
    carried.push(subtask.id);
  }
  return { backlog: index.backlog, carried };
}

/** The content that identifies a subtask's work: ancestors' titles, its title, its context. */
function workKey(index: BacklogIndex, id: string): string {
  const subtask = index.get(id)!;
  const ancestors = index
    .ancestors(id)
    .map((item) => item.title)
    .reverse();
  const scope = 'context_scope' in subtask ? subtask.context_scope : '';
  return JSON.stringify([...ancestors, subtask.title, scope]);
}
