import { STATUSES, type Status } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import {
  failedItems,
  formatInterruptedRun,
  formatRunOpening,
  formatRunReport,
  interruptedRunReport,
  runOpening,
  runReport,
  runSummaryLines,
} from './index.ts';
import type { FailureRecord } from './types.ts';

const NONE = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;

function countsOf(counts: Partial<Record<Status, number>>): Record<Status, number> {
  return { ...NONE, ...counts };
}

function failure(id: string, attempts: number, exitCode: number | null): FailureRecord {
  return {
    id,
    title: `title of ${id}`,
    attempts,
    exitCode,
    signal: exitCode === null ? 'SIGKILL' : null,
    message: null,
    outputTail: 'boom\n',
    logPath: `/plan/001_abc/logs/${id}.${attempts}.log`,
    at: '2026-01-02T03:04:05.000Z',
  };
}

const where = {
  session: '001_0123456789ab',
  sessionDir: '/plan/001_0123456789ab',
  currentItemId: null,
};

describe('runReport', () => {
  it('reports a run that completed everything in the whole backlog, key by key in order', () => {
    const counts = countsOf({ Complete: 3, Obsolete: 1 });
    const report = runReport(
      { ...where, counts },
      { failed: [], recovered: [], blocked: new Map() },
      'skipped',
    );
    expect(JSON.stringify(report)).toBe(
      JSON.stringify({
        total: 3,
        completed: 3,
        failed: 0,
        remaining: 0,
        percentage: 100,
        byStatus: counts,
        session: '001_0123456789ab',
        sessionDir: '/plan/001_0123456789ab',
        scope: null,
        currentItemId: null,
        failedItems: [],
        recovered: [],
        blocked: [],
        qa: 'skipped',
        exitCode: 0,
      }),
    );
  });

  it('lists failures, recovered and blocked subtasks of a scope, and exits 1', () => {
    const counts = countsOf({ Complete: 1, Failed: 2, Planned: 2 });
    const report = runReport(
      { ...where, scope: 'P1.M1', counts, currentItemId: 'P1.M1.T1.S3' },
      {
        failed: [failure('P1.M1.T1.S1', 3, 1), failure('P1.M1.T1.S2', 1, null)],
        recovered: ['P1.M1.T1.S4'],
        blocked: new Map([
          ['P1.M1.T1.S4', ['P1.M1.T1.S1']],
          ['P1.M1.T1.S5', ['P1.M1.T1.S4']],
        ]),
      },
      'skipped',
    );
    expect(report).toEqual({
      total: 5,
      completed: 1,
      failed: 2,
      remaining: 2,
      percentage: 20,
      byStatus: counts,
      session: '001_0123456789ab',
      sessionDir: '/plan/001_0123456789ab',
      scope: 'P1.M1',
      currentItemId: 'P1.M1.T1.S3',
      failedItems: [
        { id: 'P1.M1.T1.S1', attempts: 3, exitCode: 1 },
        { id: 'P1.M1.T1.S2', attempts: 1, exitCode: null },
      ],
      recovered: ['P1.M1.T1.S4'],
      blocked: ['P1.M1.T1.S4', 'P1.M1.T1.S5'],
      qa: 'skipped',
      exitCode: 1,
    });
  });

  it('exits 1 when QA failed though every subtask is done, and 0 when it passed', () => {
    const summary = { failed: [], recovered: [], blocked: new Map() };
    const counts = countsOf({ Complete: 2 });
    expect(runReport({ ...where, counts }, summary, 'failed')).toMatchObject({
      qa: 'failed',
      exitCode: 1,
    });
    expect(runReport({ ...where, counts }, summary, 'passed')).toMatchObject({
      qa: 'passed',
      exitCode: 0,
    });
  });

  it('counts Failed subtasks of earlier runs but exits 0 when none failed in this run', () => {
    const report = runReport(
      { ...where, counts: countsOf({ Complete: 1, Failed: 1 }) },
      { failed: [], recovered: [], blocked: new Map() },
      'skipped',
    );
    expect(report).toMatchObject({ failed: 1, failedItems: [], exitCode: 0 });
  });
});

describe('interruptedRunReport', () => {
  it('has the counts and session, no failures of its own, then interrupted, exitCode, resume', () => {
    const counts = countsOf({ Complete: 1, Planned: 3 });
    const report = interruptedRunReport(
      { ...where, scope: 'P1', counts, currentItemId: 'P1.M1.T1.S2' },
      130,
      'savepoint resume --session 001_0123456789ab',
    );
    expect(JSON.stringify(report)).toBe(
      JSON.stringify({
        total: 4,
        completed: 1,
        failed: 0,
        remaining: 3,
        percentage: 25,
        byStatus: counts,
        session: '001_0123456789ab',
        sessionDir: '/plan/001_0123456789ab',
        scope: 'P1',
        currentItemId: 'P1.M1.T1.S2',
        failedItems: [],
        recovered: [],
        interrupted: true,
        exitCode: 130,
        resume: 'savepoint resume --session 001_0123456789ab',
      }),
    );
  });

  it('leaves the exit code out of its JSON when the shutdown chose none', () => {
    const report = interruptedRunReport({ ...where, counts: countsOf({}) }, undefined, 'again');
    expect(JSON.parse(JSON.stringify(report))).not.toHaveProperty('exitCode');
    expect(report.resume).toBe('again');
  });
});

describe('formatRunReport', () => {
  const progress = 'Progress: 2/4 complete (50.0%), 1 failed, 1 remaining';

  it('says Done. with the progress for a run that exits 0', () => {
    expect(
      formatRunReport({ exitCode: 0, blocked: [], qa: 'passed', sessionDir: '/s' }, progress),
    ).toBe('Done. Progress: 2/4 complete (50.0%), 1 failed, 1 remaining.');
  });

  it('says how many subtasks failures block', () => {
    expect(
      formatRunReport(
        { exitCode: 1, blocked: ['P1.M1.T1.S3', 'P1.M1.T1.S4'], qa: 'skipped', sessionDir: '/s' },
        progress,
      ),
    ).toBe(
      'Finished with failures. Progress: 2/4 complete (50.0%), 1 failed, 1 remaining. 2 subtask(s) blocked by failures.',
    );
  });

  it("points at the session's TEST_RESULTS.md when QA failed", () => {
    expect(
      formatRunReport({ exitCode: 1, blocked: [], qa: 'failed', sessionDir: '/plan/001_x' }, 'P'),
    ).toBe('Finished with failures. P. QA failed: see /plan/001_x/TEST_RESULTS.md.');
  });
});

describe('formatInterruptedRun', () => {
  it('names the progress and the command that resumes', () => {
    expect(formatInterruptedRun('Progress: 0/1 complete (0.0%)', 'savepoint resume')).toBe(
      'Interrupted. Progress: 0/1 complete (0.0%). Resume with: savepoint resume',
    );
  });
});

describe('runSummaryLines', () => {
  it('says nothing when nothing was recovered, reaped or changed in the error report', () => {
    expect(runSummaryLines({ recovered: [], reaped: 0, errorReport: 'unchanged' }, '/s')).toEqual(
      [],
    );
  });

  it('says what was recovered, reaped and written, in that order', () => {
    expect(
      runSummaryLines(
        { recovered: ['P1.M1.T1.S1', 'P1.M1.T1.S2'], reaped: 2, errorReport: 'written' },
        '/plan/001_x',
      ),
    ).toEqual([
      'Returned 2 interrupted item(s) to Planned: P1.M1.T1.S1, P1.M1.T1.S2',
      'Ended 2 process(es) left by a killed run',
      'Wrote /plan/001_x/ERROR_REPORT.md',
    ]);
  });

  it('says the error report was removed', () => {
    expect(runSummaryLines({ recovered: [], reaped: 0, errorReport: 'removed' }, '/d')).toEqual([
      'Removed /d/ERROR_REPORT.md',
    ]);
  });
});

describe('failedItems', () => {
  it('keeps id, attempts and exit code of each failure, in order', () => {
    expect(failedItems([failure('A', 2, 7), failure('B', 1, null)])).toEqual([
      { id: 'A', attempts: 2, exitCode: 7 },
      { id: 'B', attempts: 1, exitCode: null },
    ]);
  });
});

describe('run opening lines', () => {
  const fresh = { isNew: true, isDelta: false, metadata: { id: '001_aaa', parentSession: null } };
  const delta = {
    isNew: true,
    isDelta: true,
    metadata: { id: '002_bbb', parentSession: '001_aaa' },
  };
  const resumed = { ...delta, isNew: false };

  it('names a new, a new delta and a resumed session', () => {
    expect(runOpening(fresh)).toBe('New session');
    expect(runOpening(delta)).toBe('New delta session');
    expect(runOpening(resumed)).toBe('Resuming session');
  });

  it('gives the id alone for one subtask at a time over the whole backlog', () => {
    expect(formatRunOpening(fresh)).toBe('New session 001_aaa');
    expect(formatRunOpening(fresh, { concurrency: 1 })).toBe('New session 001_aaa');
  });

  it('adds the parent of a delta session, the scope and the concurrency above 1', () => {
    expect(formatRunOpening(delta, { scope: 'P1.M2', concurrency: 4 })).toBe(
      'New delta session 002_bbb (parent 001_aaa), scope P1.M2, 4 at once',
    );
    expect(formatRunOpening(resumed, { concurrency: 2 })).toBe(
      'Resuming session 002_bbb (parent 001_aaa), 2 at once',
    );
  });
});
