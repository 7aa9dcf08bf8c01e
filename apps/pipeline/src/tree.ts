import type { Backlog, Status } from '@savepoint/task-schema';

const MARK: Record<Status, string> = {
  Planned: ' ',
  Researching: '~',
  Implementing: '~',
  Retrying: '!',
  Complete: 'x',
  Failed: 'F',
  Obsolete: '-',
};

/** The backlog as an indented outline, one item a line: `[x] P1.M1 Title (Complete)`. */
export function renderTree(backlog: Backlog): string[] {
  const lines: string[] = [];
  const line = (depth: number, item: { id: string; title: string; status: Status }) =>
    lines.push(
      `${'  '.repeat(depth)}[${MARK[item.status]}] ${item.id} ${item.title} (${item.status})`,
    );
  for (const phase of backlog.backlog) {
    line(0, phase);
    for (const milestone of phase.milestones) {
      line(1, milestone);
      for (const task of milestone.tasks) {
        line(2, task);
        for (const subtask of task.subtasks) line(3, subtask);
      }
    }
  }
  return lines;
}
