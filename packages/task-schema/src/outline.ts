import type { Backlog, Status } from './schema.ts';

const MARK: Record<Status, string> = {
  Planned: ' ',
  Researching: '~',
  Implementing: '~',
  Retrying: '!',
  Complete: 'x',
  Failed: 'F',
  Obsolete: '-',
};

/**
 * The backlog as an indented outline, one item a line, two spaces a level, with a mark for its
 * status: `[x] P1.M1 Title (Complete)`. Marks: ` ` Planned, `~` Researching or Implementing, `!`
 * Retrying, `x` Complete, `F` Failed, `-` Obsolete.
 *
 * @example
 * formatOutline(backlog).join('\n');
 * // [~] P1 Build (Implementing)
 * //   [~] P1.M1 Core (Implementing)
 * //     ...
 */
export function formatOutline(backlog: Backlog): string[] {
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
