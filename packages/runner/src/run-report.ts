import type { SessionState } from '@savepoint/session';
import { type Status, type StatusTotals, summarizeCounts } from '@savepoint/task-schema';
import type { FailureRecord, RunSummary } from './types.ts';

/** A failed subtask as a run's report lists it: which, after how many attempts, with what exit. */
export interface FailedItem {
  readonly id: string;
  readonly attempts: number;
  /** The last attempt's exit code; `null` when it ended by a signal or never started. */
  readonly exitCode: number | null;
}

/** How a run's QA step went: `skipped` when there was none or the work is not all done. */
export type QaOutcome = 'passed' | 'failed' | 'skipped';

/** Where a run stands, as {@link runReport} and {@link interruptedRunReport} take it. */
export interface RunReportInput {
  /** The session's id (`001_<hash12>`). */
  readonly session: string;
  /** The session's folder (or where a store keeps it), named by the report and its sentence. */
  readonly sessionDir: string;
  /** The item the run was limited to, if any. */
  readonly scope?: string | undefined;
  /** The subtasks in scope by status now (`index.countByStatus(scope)`). */
  readonly counts: Record<Status, number>;
  /** The session's current item now (`manager.getCurrentItem()`). */
  readonly currentItemId: string | null;
}

/** The parts every run report has: counts of the scope, then where and what the run was. */
export type RunReportBase = StatusTotals & {
  readonly session: string;
  readonly sessionDir: string;
  readonly scope: string | null;
  readonly currentItemId: string | null;
  readonly failedItems: FailedItem[];
  readonly recovered: string[];
};

/** The report of a run that ended by itself: {@link runReport}. */
export type RunReport = RunReportBase & {
  /** Subtasks in scope that wait, directly or not, on a Failed subtask. */
  readonly blocked: string[];
  readonly qa: QaOutcome;
  /** 1 when a subtask failed in this run or QA failed, else 0. */
  readonly exitCode: 0 | 1;
};

/** The report of a run a signal stopped: {@link interruptedRunReport}. */
export type InterruptedRunReport = RunReportBase & {
  readonly interrupted: true;
  /** The exit code the shutdown chose (130, 143, 129), when it chose one. */
  readonly exitCode: number | undefined;
  /** The command that goes on with the run. */
  readonly resume: string;
};

/** What {@link runOpening} and {@link formatRunOpening} need of an opened session. */
export type OpenedSessionInfo = Pick<SessionState, 'isNew' | 'isDelta'> & {
  readonly metadata: Pick<SessionState['metadata'], 'id' | 'parentSession'>;
};

/**
 * How a run's opening line names its session: `New session`, `New delta session` (created with
 * a parent) or `Resuming session`.
 */
export function runOpening(state: Pick<SessionState, 'isNew' | 'isDelta'>): string {
  if (!state.isNew) return 'Resuming session';
  return state.isDelta ? 'New delta session' : 'New session';
}

/**
 * The line a run starts with, for a person: {@link runOpening}, the session's id, its parent
 * (for a delta session), the scope and, above 1, how many subtasks run at once. No newline.
 *
 * @example
 * formatRunOpening(state, { scope: 'P1', concurrency: 4 });
 * // 'New delta session 002_4f0c9d2a1b3e (parent 001_14b9dc2a33c7), scope P1, 4 at once'
 */
export function formatRunOpening(
  state: OpenedSessionInfo,
  options: { readonly scope?: string | undefined; readonly concurrency?: number | undefined } = {},
): string {
  const { id, parentSession } = state.metadata;
  const concurrency = options.concurrency ?? 1;
  return (
    `${runOpening(state)} ${id}` +
    (state.isDelta && parentSession ? ` (parent ${parentSession})` : '') +
    (options.scope ? `, scope ${options.scope}` : '') +
    (concurrency > 1 ? `, ${concurrency} at once` : '')
  );
}

/**
 * The failures of a run as a report lists them: `{ id, attempts, exitCode }` each, in order.
 *
 * @example
 * failedItems(summary.failed); // [{ id: 'P1.M1.T1.S2', attempts: 3, exitCode: 1 }]
 */
export function failedItems(failures: readonly FailureRecord[]): FailedItem[] {
  return failures.map(({ id, attempts, exitCode }) => ({ id, attempts, exitCode }));
}

/**
 * The report of a run that ended by itself (what `savepoint run --json` prints): the totals of
 * the scope's counts, the session, its folder, the scope (`null` for the whole backlog), the
 * current item, the failures and recovered subtasks of `summary`, the blocked subtasks, how QA
 * went, and the exit code: 1 when a subtask failed in this run or QA failed, else 0. Key order is
 * fixed, so `JSON.stringify` of it is stable.
 *
 * @example
 * const report = runReport(
 *   { session: id, sessionDir: path, counts: index.countByStatus(), currentItemId: null },
 *   await runner.run(),
 *   'skipped',
 * );
 * process.exitCode = report.exitCode;
 */
export function runReport(
  input: RunReportInput,
  summary: Pick<RunSummary, 'failed' | 'recovered' | 'blocked'>,
  qa: QaOutcome,
): RunReport {
  return {
    ...base(input, summary),
    blocked: [...summary.blocked.keys()],
    qa,
    exitCode: summary.failed.length > 0 || qa === 'failed' ? 1 : 0,
  };
}

/**
 * The report of a run a signal stopped before it ended (`interrupted: true`): the same counts and
 * session as {@link runReport}, no failures or recovered subtasks of its own, the exit code the
 * shutdown chose and the command that resumes it.
 */
export function interruptedRunReport(
  input: RunReportInput,
  exitCode: number | undefined,
  resume: string,
): InterruptedRunReport {
  return { ...base(input), interrupted: true, exitCode, resume };
}

/**
 * The sentence that ends a run, for a person: `Done.` (or `Finished with failures.` when the exit
 * code is not 0), the `progress` summary given (a run's counts as text, say `summaryLine` of
 * `@savepoint/progress`), how many subtasks failures block, and where QA's findings are when QA
 * failed. No newline at the end.
 *
 * @example
 * formatRunReport(report, summaryLine(tracker.getProgress())); // summaryLine of @savepoint/progress
 * // 'Finished with failures. Progress: 2/4 complete (50.0%), 1 failed, 1 remaining. 1 subtask(s)
 * // blocked by failures.'
 */
export function formatRunReport(
  report: Pick<RunReport, 'exitCode' | 'blocked' | 'qa' | 'sessionDir'>,
  progress: string,
): string {
  const blocked = report.blocked.length;
  return (
    `${report.exitCode === 0 ? 'Done.' : 'Finished with failures.'} ${progress}.` +
    (blocked > 0 ? ` ${blocked} subtask(s) blocked by failures.` : '') +
    (report.qa === 'failed' ? ` QA failed: see ${report.sessionDir}/TEST_RESULTS.md.` : '')
  );
}

/**
 * The sentence for a run a signal stopped: `Interrupted. <progress>. Resume with: <resume>`.
 * No newline at the end.
 */
export function formatInterruptedRun(progress: string, resume: string): string {
  return `Interrupted. ${progress}. Resume with: ${resume}`;
}

/**
 * What a person is told about the housekeeping of a run that ended: subtasks an earlier run left
 * in flight and this one returned to Planned, processes of a killed run it ended, and whether it
 * wrote or removed `<sessionDir>/ERROR_REPORT.md`. One line each, in that order; none when there
 * was nothing to tell.
 *
 * @example
 * runSummaryLines({ recovered: ['P1.M1.T1.S1'], reaped: 0, errorReport: 'removed' }, dir);
 * // ['Returned 1 interrupted item(s) to Planned: P1.M1.T1.S1', `Removed ${dir}/ERROR_REPORT.md`]
 */
export function runSummaryLines(
  summary: Pick<RunSummary, 'recovered' | 'reaped' | 'errorReport'>,
  sessionDir: string,
): string[] {
  const lines: string[] = [];
  if (summary.recovered.length > 0) {
    lines.push(
      `Returned ${summary.recovered.length} interrupted item(s) to Planned: ${summary.recovered.join(', ')}`,
    );
  }
  if (summary.reaped > 0) lines.push(`Ended ${summary.reaped} process(es) left by a killed run`);
  if (summary.errorReport !== 'unchanged') {
    const did = summary.errorReport === 'written' ? 'Wrote' : 'Removed';
    lines.push(`${did} ${sessionDir}/ERROR_REPORT.md`);
  }
  return lines;
}

function base(
  input: RunReportInput,
  summary?: Pick<RunSummary, 'failed' | 'recovered'>,
): RunReportBase {
  return {
    ...summarizeCounts(input.counts),
    session: input.session,
    sessionDir: input.sessionDir,
    scope: input.scope ?? null,
    currentItemId: input.currentItemId,
    failedItems: failedItems(summary?.failed ?? []),
    recovered: summary?.recovered ?? [],
  };
}
