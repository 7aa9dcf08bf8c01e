import { type FailedItem, failedItems } from '@savepoint/runner';
import { type StatusTotals, summarizeCounts } from '@savepoint/task-schema';
import type { SharedWorkSummary } from './shared-run.ts';

/** What one process did in a shared session, as {@link sharedWorkReport} reports it. */
export interface ThisProcessWork {
  /** How many subtasks this process completed. */
  readonly completed: number;
  /** The subtasks this process recorded Failed. */
  readonly failed: FailedItem[];
  /** The subtasks whose lease this process lost while working on them. */
  readonly lost: string[];
}

/** The report of a process's work on a shared session that ended by itself. */
export type SharedWorkReport = {
  readonly session: string;
  readonly scope: string | null;
} & StatusTotals & {
    readonly thisProcess: ThisProcessWork;
    /** 1 when subtasks in scope are Failed (by any worker), else 0. */
    readonly exitCode: 0 | 1;
  };

/** The report of a process whose work on a shared session a signal stopped. */
export interface SharedWorkInterruptedReport {
  readonly session: string;
  readonly interrupted: true;
  /** The exit code the shutdown chose (130, 143), when it chose one. */
  readonly exitCode: number | undefined;
}

/**
 * The report of `summary`, the work of this process on session `session` (what `savepoint work
 * --json` prints): the session, the scope (`null` for the whole backlog), the totals of the
 * session's subtasks in scope, what this process did, and the exit code: 1 when subtasks in
 * scope are Failed, whoever recorded them, else 0. Key order is fixed, so `JSON.stringify` of it
 * is stable.
 *
 * @example
 * const summary = await workSharedSession(options).run();
 * const report = sharedWorkReport(options.session, options.scope, summary);
 * console.log(formatSharedWorkReport(report));
 * process.exitCode = report.exitCode;
 */
export function sharedWorkReport(
  session: string,
  scope: string | undefined,
  summary: Pick<SharedWorkSummary, 'completed' | 'failed' | 'lost' | 'counts'>,
): SharedWorkReport {
  const counts = summarizeCounts(summary.counts);
  return {
    session,
    scope: scope ?? null,
    ...counts,
    thisProcess: {
      completed: summary.completed.length,
      failed: failedItems(summary.failed),
      lost: summary.lost,
    },
    exitCode: counts.failed > 0 ? 1 : 0,
  };
}

/**
 * The sentence that ends a process's work on a shared session, for a person: `Done.` (or
 * `Finished with failures.`), the session's totals in scope and what this process did. No
 * newline at the end.
 *
 * @example
 * formatSharedWorkReport(report);
 * // 'Done. Session 001_14b9dc2a33c7: 4/4 complete, 0 failed, 0 remaining (this process:
 * // 2 completed, 0 failed, 0 lost).'
 */
export function formatSharedWorkReport(report: SharedWorkReport): string {
  const mine = report.thisProcess;
  return (
    `${report.exitCode === 0 ? 'Done.' : 'Finished with failures.'} Session ${report.session}: ${report.completed}/${report.total} complete, ${report.failed} failed, ${report.remaining} remaining` +
    ` (this process: ${mine.completed} completed, ${mine.failed.length} failed, ${mine.lost.length} lost).`
  );
}

/** The report of work on session `session` that a signal stopped, with the shutdown's exit code. */
export function sharedWorkInterruptedReport(
  session: string,
  exitCode: number | undefined,
): SharedWorkInterruptedReport {
  return { session, interrupted: true, exitCode };
}

/**
 * The sentence for work on session `session` that a signal stopped: the subtasks were given back
 * and the other workers go on. No newline at the end.
 */
export function formatSharedWorkInterrupted(session: string): string {
  return `Interrupted: the subtasks this process held were given back; session ${session} goes on with the other workers.`;
}

/**
 * What a person is told about the housekeeping of shared work that ended: the processes killed
 * earlier workers of this host left running, and that were ended. One line, or none.
 */
export function sharedWorkSummaryLines(summary: Pick<SharedWorkSummary, 'reaped'>): string[] {
  return summary.reaped > 0 ? [`Ended ${summary.reaped} process(es) left by a killed worker`] : [];
}
