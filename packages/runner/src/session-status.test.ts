import {
  type Backlog,
  createBacklogIndex,
  formatOutline,
  type Status,
} from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { backlogOf } from '../test/backlog.ts';
import { formatSessionStatus, STATUS_LIST_LIMIT, sessionStatus } from './session-status.ts';

function setStatus(backlog: Backlog, id: string, status: Status): void {
  for (const phase of backlog.backlog)
    for (const milestone of phase.milestones)
      for (const task of milestone.tasks)
        for (const subtask of task.subtasks) if (subtask.id === id) subtask.status = status;
}

function snapshotOf(backlog: Backlog, parentSession: string | null = null) {
  return {
    metadata: {
      id: '002_0123456789ab',
      sequence: 2,
      hash: '0123456789ab',
      path: '/plan/002_0123456789ab',
      createdAt: new Date(0),
      parentSession,
    },
    backlog,
    currentItemId: 'P1.M1.T1.S2',
    inFlight: ['P1.M1.T1.S2'],
  };
}

/** T1: S1 Failed, S2 -> S1, S3 -> S2; T2: S1 Complete, S2 Planned. */
function smallBacklog(): Backlog {
  const backlog = backlogOf([[], [0], [1]], [[], []]);
  setStatus(backlog, 'P1.M1.T1.S1', 'Failed');
  setStatus(backlog, 'P1.M1.T2.S1', 'Complete');
  return backlog;
}

/** `tasks` tasks of two subtasks each, S2 -> S1, every S1 Failed. */
function manyFailures(tasks: number): Backlog {
  const backlog = backlogOf(...Array.from({ length: tasks }, () => [[], [0]]));
  for (let t = 1; t <= tasks; t++) setStatus(backlog, `P1.M1.T${t}.S1`, 'Failed');
  return backlog;
}

describe('sessionStatus', () => {
  it('reports counts, failed and blocked subtasks, items in flight and QA', () => {
    const backlog = smallBacklog();
    const status = sessionStatus(snapshotOf(backlog), createBacklogIndex(backlog), {
      qaFailed: true,
    });
    expect(status).toEqual({
      session: '002_0123456789ab',
      sessionDir: '/plan/002_0123456789ab',
      scope: null,
      total: 5,
      completed: 1,
      failed: 1,
      remaining: 3,
      percentage: 20,
      byStatus: {
        Planned: 3,
        Researching: 0,
        Implementing: 0,
        Retrying: 0,
        Complete: 1,
        Failed: 1,
        Obsolete: 0,
      },
      currentItemId: 'P1.M1.T1.S2',
      failedItems: [{ id: 'P1.M1.T1.S1', title: 'subtask 1' }],
      recovered: [],
      inFlight: ['P1.M1.T1.S2'],
      blocked: ['P1.M1.T1.S2', 'P1.M1.T1.S3'],
      qa: 'failed',
      exitCode: 0,
    });
    // A JSON report prints the keys in this order.
    expect(Object.keys(status)).toEqual([
      'session',
      'sessionDir',
      'scope',
      'total',
      'completed',
      'failed',
      'remaining',
      'percentage',
      'byStatus',
      'currentItemId',
      'failedItems',
      'recovered',
      'inFlight',
      'blocked',
      'qa',
      'exitCode',
    ]);
  });

  it('has no QA failure unless told, and empty lists for a backlog without failures', () => {
    const backlog = backlogOf([[], [0]]);
    const status = sessionStatus(snapshotOf(backlog), createBacklogIndex(backlog));
    expect(status).toMatchObject({ qa: null, failedItems: [], blocked: [], remaining: 2 });
  });
});

describe('formatSessionStatus', () => {
  it('prints the counts, the failed and blocked subtasks with what they wait on, and QA', () => {
    const backlog = smallBacklog();
    const lines = formatSessionStatus(
      snapshotOf(backlog, '001_0123456789ab'),
      createBacklogIndex(backlog),
      { qaFailed: true },
    );
    expect(lines).toEqual([
      'Session 002_0123456789ab (parent 001_0123456789ab)',
      '  1/5 complete (20.0%), 1 failed, 2 blocked, 3 remaining',
      '  current item: P1.M1.T1.S2',
      '  by status: Planned 3, Complete 1, Failed 1',
      '  failed:',
      '    P1.M1.T1.S1 subtask 1',
      '  blocked:',
      '    P1.M1.T1.S2 subtask 2 (waits on P1.M1.T1.S1)',
      '    P1.M1.T1.S3 subtask 3 (waits on P1.M1.T1.S2)',
      '  QA failed: see /plan/002_0123456789ab/TEST_RESULTS.md',
    ]);
  });

  it('leaves out the lists that are empty, and says none for no current item or subtask', () => {
    const empty = backlogOf();
    const snapshot = { ...snapshotOf(empty), currentItemId: null };
    expect(formatSessionStatus(snapshot, createBacklogIndex(empty))).toEqual([
      'Session 002_0123456789ab',
      '  0/0 complete (100.0%), 0 failed, 0 blocked, 0 remaining',
      '  current item: none',
      '  by status: none',
    ]);
  });

  it(`lists ${STATUS_LIST_LIMIT} failed and blocked subtasks, then how many more`, () => {
    const backlog = manyFailures(25);
    const lines = formatSessionStatus(snapshotOf(backlog), createBacklogIndex(backlog));
    const failed = lines.indexOf('  failed:');
    const blocked = lines.indexOf('  blocked:');
    expect(lines[1]).toBe('  0/50 complete (0.0%), 25 failed, 25 blocked, 25 remaining');
    expect(blocked - failed).toBe(22);
    expect(lines.slice(failed + 1, blocked)).toEqual([
      ...Array.from({ length: 20 }, (_, t) => `    P1.M1.T${t + 1}.S1 subtask 1`),
      '    ... and 5 more',
    ]);
    expect(lines.slice(blocked + 1)).toEqual([
      ...Array.from(
        { length: 20 },
        (_, t) => `    P1.M1.T${t + 1}.S2 subtask 2 (waits on P1.M1.T${t + 1}.S1)`,
      ),
      '    ... and 5 more',
    ]);
  });

  it(`lists exactly ${STATUS_LIST_LIMIT} without a more line`, () => {
    const backlog = manyFailures(20);
    const lines = formatSessionStatus(snapshotOf(backlog), createBacklogIndex(backlog));
    expect(lines).toHaveLength(4 + 2 * 21);
    expect(lines.filter((line) => line.includes('more'))).toEqual([]);
  });

  it('ends with the outline after an empty line when asked for the tree', () => {
    const backlog = smallBacklog();
    const index = createBacklogIndex(backlog);
    const plain = formatSessionStatus(snapshotOf(backlog), index);
    const tree = formatSessionStatus(snapshotOf(backlog), index, { tree: true });
    expect(tree).toEqual([...plain, '', ...formatOutline(backlog)]);
    expect(tree).toContain('      [F] P1.M1.T1.S1 subtask 1 (Failed)');
  });
});
