import { STATUSES, type Status } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import {
  formatSessionTable,
  SessionError,
  type SessionReading,
  type SessionRow,
  sessionRows,
} from './index.ts';

const counts = (byStatus: Partial<Record<Status, number>>) =>
  ({ ...Object.fromEntries(STATUSES.map((status) => [status, 0])), ...byStatus }) as Record<
    Status,
    number
  >;

function summary(sequence: number) {
  const hash = `${sequence}`.repeat(12);
  return {
    id: `00${sequence}_${hash}`,
    sequence,
    hash,
    path: `/plan/00${sequence}_${hash}`,
    createdAt: new Date(Date.UTC(2026, 0, sequence, 10)),
  };
}

function read(
  sequence: number,
  parentSession: string | null,
  byStatus: Partial<Record<Status, number>>,
): SessionReading {
  const found = summary(sequence);
  const metadata = { ...found, parentSession };
  const snapshot = {
    metadata,
    prdSnapshot: '',
    backlog: { backlog: [] },
    currentItemId: null,
    inFlight: [],
  };
  return { summary: found, snapshot, counts: counts(byStatus) };
}

function damaged(sequence: number, message: string): SessionReading {
  return { summary: summary(sequence), error: new SessionError('INVALID_BACKLOG', message) };
}

describe('sessionRows', () => {
  it('gives each session its progress, and a damaged one the first line of its error', () => {
    const rows = sessionRows([
      read(1, null, { Complete: 3, Failed: 1, Obsolete: 2 }),
      damaged(2, '/plan/002/tasks.json: invalid JSON\nTo recover: fix it'),
      read(3, '001_111111111111', { Planned: 2 }),
    ]);
    expect(rows).toEqual([
      {
        id: '001_111111111111',
        sequence: 1,
        hash: '111111111111',
        createdAt: '2026-01-01T10:00:00.000Z',
        parent: null,
        damaged: null,
        total: 4,
        completed: 3,
        failed: 1,
        percentage: 75,
      },
      {
        id: '002_222222222222',
        sequence: 2,
        hash: '222222222222',
        createdAt: '2026-01-02T10:00:00.000Z',
        parent: null,
        damaged: '/plan/002/tasks.json: invalid JSON',
        total: null,
        completed: null,
        failed: null,
        percentage: null,
      },
      {
        id: '003_333333333333',
        sequence: 3,
        hash: '333333333333',
        createdAt: '2026-01-03T10:00:00.000Z',
        parent: '001_111111111111',
        damaged: null,
        total: 2,
        completed: 0,
        failed: 0,
        percentage: 0,
      },
    ]);
    // A JSON listing prints the keys in this order, damaged or not.
    const keys = ['id', 'sequence', 'hash', 'createdAt', 'parent', 'damaged'];
    for (const row of rows)
      expect(Object.keys(row)).toEqual([...keys, 'total', 'completed', 'failed', 'percentage']);
  });

  it('has no rows for no sessions', () => {
    expect(sessionRows([])).toEqual([]);
  });
});

describe('formatSessionTable', () => {
  it('prints a header and one aligned line a session, damaged ones marked', () => {
    const rows = sessionRows([
      read(1, null, { Complete: 3, Failed: 1 }),
      damaged(2, 'broken\nhint'),
      read(3, '001_111111111111', { Complete: 1, Planned: 2 }),
      read(4, null, {}),
    ]);
    expect(formatSessionTable(rows, '/plan')).toEqual([
      'SEQ  HASH          PARENT            CREATED                   PROGRESS',
      '001  111111111111  -                 2026-01-01T10:00:00.000Z  3/4 (75.0%), 1 failed',
      '002  222222222222  -                 2026-01-02T10:00:00.000Z  DAMAGED (see below)',
      '003  333333333333  001_111111111111  2026-01-03T10:00:00.000Z  1/3 (33.3%)',
      '004  444444444444  -                 2026-01-04T10:00:00.000Z  0/0 (100.0%)',
    ]);
  });

  it('pads the sequence to three digits and keeps a longer one whole', () => {
    const row: SessionRow = {
      ...sessionRows([read(1, null, { Complete: 1 })])[0]!,
      sequence: 1234,
    };
    expect(formatSessionTable([row], '/plan')[1]).toMatch(/^1234 {2}111111111111 {2}- /);
  });

  it('says where it looked when there are no sessions', () => {
    expect(formatSessionTable([], 'postgres://db/plans')).toEqual([
      'No sessions in postgres://db/plans',
    ]);
  });
});
