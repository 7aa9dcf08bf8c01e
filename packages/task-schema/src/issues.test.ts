import { describe, expect, it } from 'vitest';
import { BacklogError, type BacklogIssue, formatIssue, formatPath } from './index.ts';

describe('formatPath', () => {
  it('writes paths the way people read them', () => {
    expect(
      formatPath(['backlog', 0, 'milestones', 1, 'tasks', 0, 'subtasks', 2, 'dependencies', 0]),
    ).toBe('backlog[0].milestones[1].tasks[0].subtasks[2].dependencies[0]');
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['backlog', 0, 'odd key'])).toBe('backlog[0]["odd key"]');
    expect(() => formatPath('backlog' as never)).toThrow(TypeError);
  });
});

describe('formatIssue', () => {
  const issue: BacklogIssue = {
    code: 'UNKNOWN_DEPENDENCY',
    severity: 'error',
    path: ['backlog', 0, 'milestones', 0, 'tasks', 0, 'subtasks', 1, 'dependencies', 0],
    itemId: 'P1.M1.T1.S2',
    message: 'P1.M1.T1.S2 depends on "P9", which is not an item of this backlog',
  };

  it('puts severity, code, path and message on one line', () => {
    expect(formatIssue(issue)).toBe(
      'error UNKNOWN_DEPENDENCY at backlog[0].milestones[0].tasks[0].subtasks[1].dependencies[0]: P1.M1.T1.S2 depends on "P9", which is not an item of this backlog',
    );
    expect(formatIssue(issue, { source: 'tasks.json' })).toMatch(/^tasks\.json: error /);
  });

  it('shows line and column for JSON syntax errors', () => {
    expect(
      formatIssue({
        code: 'INVALID_JSON',
        severity: 'error',
        path: [],
        message: 'unexpected end of input, expected a value',
        line: 4,
        column: 2,
      }),
    ).toBe('error INVALID_JSON at line 4, column 2: unexpected end of input, expected a value');
    expect(() => formatIssue('oops' as never)).toThrow(TypeError);
  });
});

describe('BacklogError', () => {
  it('carries code, issues errors-first, source, item id and cause', () => {
    const cause = new Error('root cause');
    const warning: BacklogIssue = {
      code: 'IN_FLIGHT_STATUS',
      severity: 'warning',
      path: [],
      message: 'w',
    };
    const error = new BacklogError('GRAPH', {
      issues: [warning, { ...warning, code: 'SELF_DEPENDENCY', severity: 'error', message: 'e' }],
      source: 'f.json',
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('BacklogError');
    expect(error.issues.map((i) => i.severity)).toEqual(['error', 'warning']);
    expect(error.message).toBe('f.json: broken ids or dependencies (1 error): (root): e');
    expect(error.cause).toBe(cause);
    expect(new BacklogError('UNKNOWN_ID', { itemId: 'P4' }).message).toBe(
      'backlog: no item has id "P4"',
    );
  });
});
