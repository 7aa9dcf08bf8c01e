import type { FailureRecord } from '@savepoint/runner';
import { STATUSES, type Status } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import {
  formatJoinOpening,
  formatSharedRunOpening,
  formatSharedWorkInterrupted,
  formatSharedWorkReport,
  sharedWorkInterruptedReport,
  sharedWorkReport,
  sharedWorkSummaryLines,
} from './index.ts';

const NONE = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<Status, number>;

function countsOf(counts: Partial<Record<Status, number>>): Record<Status, number> {
  return { ...NONE, ...counts };
}

function failure(id: string, attempts: number, exitCode: number | null): FailureRecord {
  return {
    id,
    title: id,
    attempts,
    exitCode,
    signal: null,
    message: null,
    outputTail: '',
    logPath: null,
    at: '2026-01-02T03:04:05.000Z',
  };
}

describe('sharedWorkReport', () => {
  it('reports work that completed the session, key by key in order', () => {
    const counts = countsOf({ Complete: 4 });
    const report = sharedWorkReport('001_14b9dc2a33c7', undefined, {
      completed: ['P1.M1.T1.S1', 'P1.M1.T1.S3'],
      failed: [],
      lost: [],
      counts,
    });
    expect(JSON.stringify(report)).toBe(
      JSON.stringify({
        session: '001_14b9dc2a33c7',
        scope: null,
        total: 4,
        completed: 4,
        failed: 0,
        remaining: 0,
        percentage: 100,
        byStatus: counts,
        thisProcess: { completed: 2, failed: [], lost: [] },
        exitCode: 0,
      }),
    );
    expect(formatSharedWorkReport(report)).toBe(
      'Done. Session 001_14b9dc2a33c7: 4/4 complete, 0 failed, 0 remaining (this process: 2 completed, 0 failed, 0 lost).',
    );
  });

  it("lists this process's failures and lost leases, and exits 1 on the scope's failures", () => {
    const counts = countsOf({ Complete: 1, Failed: 2, Planned: 1, Obsolete: 1 });
    const report = sharedWorkReport('001_x', 'P1.M1', {
      completed: [],
      failed: [failure('P1.M1.T1.S2', 3, 1)],
      lost: ['P1.M1.T1.S4'],
      counts,
    });
    expect(report).toEqual({
      session: '001_x',
      scope: 'P1.M1',
      total: 4,
      completed: 1,
      failed: 2,
      remaining: 1,
      percentage: 25,
      byStatus: counts,
      thisProcess: {
        completed: 0,
        failed: [{ id: 'P1.M1.T1.S2', attempts: 3, exitCode: 1 }],
        lost: ['P1.M1.T1.S4'],
      },
      exitCode: 1,
    });
    expect(formatSharedWorkReport(report)).toBe(
      'Finished with failures. Session 001_x: 1/4 complete, 2 failed, 1 remaining (this process: 0 completed, 1 failed, 1 lost).',
    );
  });

  it('exits 1 on failures other workers recorded, though this process had none', () => {
    const report = sharedWorkReport('001_x', undefined, {
      completed: ['A'],
      failed: [],
      lost: [],
      counts: countsOf({ Complete: 1, Failed: 1 }),
    });
    expect(report.exitCode).toBe(1);
    expect(formatSharedWorkReport(report)).toMatch(/^Finished with failures\. /);
  });
});

describe('shared work stopped by a signal', () => {
  it('reports the session, interrupted and the exit code, in that order', () => {
    expect(JSON.stringify(sharedWorkInterruptedReport('001_x', 143))).toBe(
      '{"session":"001_x","interrupted":true,"exitCode":143}',
    );
    expect(JSON.stringify(sharedWorkInterruptedReport('001_x', undefined))).toBe(
      '{"session":"001_x","interrupted":true}',
    );
  });

  it('says the subtasks were given back and the others go on', () => {
    expect(formatSharedWorkInterrupted('001_x')).toBe(
      'Interrupted: the subtasks this process held were given back; session 001_x goes on with the other workers.',
    );
  });
});

describe('sharedWorkSummaryLines', () => {
  it('names the processes of killed workers that were ended, and nothing else', () => {
    expect(sharedWorkSummaryLines({ reaped: 0 })).toEqual([]);
    expect(sharedWorkSummaryLines({ reaped: 3 })).toEqual([
      'Ended 3 process(es) left by a killed worker',
    ]);
  });
});

describe('shared work opening lines', () => {
  const url = 'postgres://ann:s3cret@db.example:5432/pipeline';

  it('names the session, the database without its password, the scope and the slots of a run', () => {
    const state = { isNew: true, isDelta: false, metadata: { id: '001_x', parentSession: null } };
    expect(formatSharedRunOpening(state, { url, concurrency: 1 })).toBe(
      'New session 001_x in postgres://ann@db.example:5432/pipeline, 1 worker(s)',
    );
    const resumed = {
      isNew: false,
      isDelta: true,
      metadata: { id: '002_y', parentSession: '001_x' },
    };
    expect(formatSharedRunOpening(resumed, { url, scope: 'P1', concurrency: 3 })).toBe(
      'Resuming session 002_y in postgres://ann@db.example:5432/pipeline, scope P1, 3 worker(s)',
    );
  });

  it("names the session, the database without its password, the slots' worker ids and the lease of a join", () => {
    const line = formatJoinOpening({
      session: '001_x',
      url,
      workerId: 'ci-7/4242',
      concurrency: 4,
      leaseMs: 30_000,
    });
    expect(line).toBe(
      'Joining session 001_x in postgres://ann@db.example:5432/pipeline as 4 worker(s) ci-7/4242/1..4, lease 30000 ms',
    );
  });
});
