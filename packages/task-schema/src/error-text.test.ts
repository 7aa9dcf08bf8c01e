import { describe, expect, it } from 'vitest';
import { backlogOf, milestone, phase, subtask, task } from '../test/helpers.ts';
import { BacklogError, formatBacklogError, formatIssue, parseBacklog } from './index.ts';

function failure(input: unknown, source?: string): BacklogError {
  try {
    parseBacklog(input, source === undefined ? {} : { source });
  } catch (error) {
    if (error instanceof BacklogError) return error;
    throw error;
  }
  throw new Error('expected the backlog to be refused');
}

/** A backlog whose subtasks each depend on an id no item has: one error per subtask. */
function brokenBacklog(count: number) {
  const subtasks = Array.from({ length: count }, (_, i) =>
    subtask(`P1.M1.T1.S${i + 1}`, [`P9.M9.T9.S${i + 1}`]),
  );
  return backlogOf(phase('P1', [milestone('P1.M1', [task('P1.M1.T1', subtasks)])]));
}

describe('formatBacklogError', () => {
  it('names the source and stage, then lists each error on an indented line', () => {
    const error = failure(JSON.stringify(brokenBacklog(2)), 'plan/tasks.json');
    const lines = formatBacklogError(error).split('\n');
    expect(lines[0]).toBe('plan/tasks.json: invalid backlog (GRAPH)');
    expect(lines.slice(1)).toEqual(error.issues.map((issue) => `  ${formatIssue(issue)}`));
    expect(lines).toHaveLength(3);
  });

  it('shows at most maxIssues errors and counts the rest', () => {
    const error = failure(brokenBacklog(25));
    const lines = formatBacklogError(error).split('\n');
    // Without a source, the first line is the message.
    expect(lines[0]).toBe(error.message);
    expect(lines).toHaveLength(1 + 20 + 1);
    expect(lines.at(-1)).toBe('  ... and 5 more');
    expect(formatBacklogError(error, { maxIssues: 2 }).split('\n').at(-1)).toBe(
      '  ... and 23 more',
    );
  });

  it('shows the line and column of invalid JSON', () => {
    const error = failure('{\n  "backlog": [\n}', 'tasks.json');
    const lines = formatBacklogError(error).split('\n');
    expect(lines[0]).toBe('tasks.json: invalid backlog (INVALID_JSON)');
    expect(lines[1]).toMatch(/^ {2}error INVALID_JSON at line 3, column \d+/);
  });
});
