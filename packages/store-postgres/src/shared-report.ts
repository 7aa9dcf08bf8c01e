import {
  type FailedItem,
  failedItems,
  type OpenedSessionInfo,
  runOpening,
} from '@savepoint/runner';
import { type StatusTotals, summarizeCounts } from '@savepoint/task-schema';
import { redactConnectionString } from './import-session.ts';
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
 * The line a run of a session in the database starts with, for a person: how it names the
 * session (`New session`, `New delta session`, `Resuming session`), its id, the database's URL
 * without its password, the scope, and the worker slots of this process. No newline.
 *
 * @example
 * formatSharedRunOpening(state, { url: 'postgres://ann:pw@db/x', concurrency: 2 });
 * // 'New session 001_14b9dc2a33c7 in postgres://ann@db/x, 2 worker(s)'
 */
export function formatSharedRunOpening(
  state: OpenedSessionInfo,
  options: {
    readonly url: string;
    readonly scope?: string | undefined;
    readonly concurrency: number;
  },
): string {
  return (
    `${runOpening(state)} ${state.metadata.id} in ${redactConnectionString(options.url)}` +
    `${options.scope ? `, scope ${options.scope}` : ''}, ${options.concurrency} worker(s)`
  );
}

/**
 * The line a process joining a session as more workers starts with: the session, the
 * database's URL without its password, the worker ids its slots claim as
 * (`<workerId>/1..<concurrency>`, as {@link workSharedSession} names them) and the lease. No
 * newline.
 *
 * @example
 * formatJoinOpening({ session: '001_x', url, workerId: 'ci-7/4242', concurrency: 4, leaseMs: 30000 });
 * // 'Joining session 001_x in postgres://ann@db/x as 4 worker(s) ci-7/4242/1..4, lease 30000 ms'
 */
export function formatJoinOpening(options: {
  readonly session: string;
  readonly url: string;
  readonly workerId: string;
  readonly concurrency: number;
  readonly leaseMs: number;
}): string {
  const { session, url, workerId, concurrency, leaseMs } = options;
  return `Joining session ${session} in ${redactConnectionString(url)} as ${concurrency} worker(s) ${workerId}/1..${concurrency}, lease ${leaseMs} ms`;
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
