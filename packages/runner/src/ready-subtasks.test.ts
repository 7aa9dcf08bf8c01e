import {
  type Backlog,
  BacklogError,
  createBacklogIndex,
  type Status,
} from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { backlogOf } from '../test/backlog.ts';
import { formatReadySubtasks, readySubtasks } from './ready-subtasks.ts';

function subtask(backlog: Backlog, id: string) {
  const task = backlog.backlog[0]!.milestones[0]!.tasks.find((t) => id.startsWith(`${t.id}.`))!;
  return task.subtasks.find((s) => s.id === id)!;
}

/** T1: S1, S2 -> S1, S3, S4 -> S3; T2: S1, S2; all Planned but for `statuses`. */
function backlog(statuses: Record<string, Status>, extraDeps: Record<string, string[]> = {}) {
  const built = backlogOf([[], [0], [], [2]], [[], []]);
  for (const [id, status] of Object.entries(statuses)) subtask(built, id).status = status;
  for (const [id, deps] of Object.entries(extraDeps)) subtask(built, id).dependencies = deps;
  return createBacklogIndex(built);
}

const mixed = () =>
  backlog({ 'P1.M1.T1.S1': 'Complete', 'P1.M1.T1.S2': 'Retrying', 'P1.M1.T2.S1': 'Failed' });

describe('readySubtasks', () => {
  it('lists the subtasks whose dependencies are done, in run order, Failed and Retrying too', () => {
    expect(readySubtasks(mixed())).toEqual([
      { id: 'P1.M1.T1.S2', title: 'subtask 2', status: 'Retrying' },
      { id: 'P1.M1.T1.S3', title: 'subtask 3', status: 'Planned' },
      { id: 'P1.M1.T2.S1', title: 'subtask 1', status: 'Failed' },
      { id: 'P1.M1.T2.S2', title: 'subtask 2', status: 'Planned' },
    ]);
  });

  it('keeps to a scope, and finds nothing where everything is done', () => {
    expect(readySubtasks(mixed(), 'P1.M1.T2').map((s) => s.id)).toEqual([
      'P1.M1.T2.S1',
      'P1.M1.T2.S2',
    ]);
    const done = backlog({ 'P1.M1.T2.S1': 'Complete', 'P1.M1.T2.S2': 'Obsolete' });
    expect(readySubtasks(done, 'P1.M1.T2')).toEqual([]);
  });

  it('throws BacklogError UNKNOWN_ID for a scope no item has', () => {
    expect(() => readySubtasks(mixed(), 'P9')).toThrow(BacklogError);
    expect(() => readySubtasks(mixed(), 'P9')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_ID' }),
    );
  });
});

describe('formatReadySubtasks', () => {
  it('heads the list with its length and marks what runs again', () => {
    expect(formatReadySubtasks(mixed(), '001_0123456789ab')).toEqual([
      'Ready now in session 001_0123456789ab (4):',
      '  P1.M1.T1.S2  subtask 2 (Retrying, runs again)',
      '  P1.M1.T1.S3  subtask 3',
      '  P1.M1.T2.S1  subtask 1 (Failed, runs again)',
      '  P1.M1.T2.S2  subtask 2',
    ]);
  });

  it('says why nothing is ready, counting only the scope', () => {
    // T2.S1 waits on the failed T1.S1 outside the scope; T2.S2 is done.
    const index = backlog(
      { 'P1.M1.T1.S1': 'Failed', 'P1.M1.T2.S2': 'Complete' },
      { 'P1.M1.T2.S1': ['P1.M1.T1.S1'] },
    );
    expect(formatReadySubtasks(index, '001_0123456789ab', 'P1.M1.T2')).toEqual([
      'Nothing is ready in session 001_0123456789ab: 1 complete, 0 failed, 1 blocked by a failure.',
    ]);
    expect(formatReadySubtasks(index, '001_0123456789ab')[0]).toBe(
      'Ready now in session 001_0123456789ab (2):',
    );
  });
});
