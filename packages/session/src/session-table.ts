import { summarizeCounts } from '@savepoint/task-schema';
import type { SessionReading } from './read-sessions.ts';

/**
 * One session as a listing shows it; see {@link sessionRows}. A damaged session has `damaged` set
 * and `null` counts. Its keys are in the order a JSON listing prints them.
 */
export interface SessionRow {
  readonly id: string;
  readonly sequence: number;
  readonly hash: string;
  /** When the session was created, as an ISO 8601 string. */
  readonly createdAt: string;
  /** The parent session's id for a delta session; `null` otherwise and for a damaged one. */
  readonly parent: string | null;
  /** The first line of the error that keeps a damaged session from being read, else `null`. */
  readonly damaged: string | null;
  /** Subtasks that count (every status but Obsolete). */
  readonly total: number | null;
  readonly completed: number | null;
  readonly failed: number | null;
  /** Complete out of `total`, rounded to one decimal. */
  readonly percentage: number | null;
}

/**
 * One {@link SessionRow} for each reading of {@link readSessions}, in the same order: its id,
 * sequence, hash, creation time, parent and progress, or, for a damaged session, the first line
 * of its error (the rest, such as a recovery hint, is for the caller to show in full).
 *
 * @example
 * const rows = sessionRows(await readSessions(store));
 * rows.filter((row) => row.damaged).map((row) => row.id); // the sessions that cannot be read
 */
export function sessionRows(readings: readonly SessionReading[]): SessionRow[] {
  return readings.map(({ summary, snapshot, counts, error }) => {
    const row = {
      id: summary.id,
      sequence: summary.sequence,
      hash: summary.hash,
      createdAt: summary.createdAt.toISOString(),
    };
    if (error) {
      const [damage] = error.message.split('\n');
      return { ...row, parent: null, damaged: damage!, ...UNKNOWN };
    }
    const { total, completed, failed, percentage } = summarizeCounts(counts);
    const parent = snapshot.metadata.parentSession;
    return { ...row, parent, damaged: null, total, completed, failed, percentage };
  });
}

/**
 * `rows` as a table, a header and one line each: sequence, hash, parent, creation time and
 * progress (`DAMAGED (see below)` for a damaged session, whose error the caller shows after the
 * table). With no rows, one line saying that `location` (the store's plan folder or address) has
 * no sessions.
 *
 * @example
 * formatSessionTable(sessionRows(await readSessions(store)), store.location).join('\n');
 * // SEQ  HASH          PARENT            CREATED                   PROGRESS
 * // 001  14b9dc2a33c7  -                 2026-01-05T10:00:00.000Z  3/4 (75.0%), 1 failed
 */
export function formatSessionTable(rows: readonly SessionRow[], location: string): string[] {
  if (rows.length === 0) return [`No sessions in ${location}`];
  const lines = ['SEQ  HASH          PARENT            CREATED                   PROGRESS'];
  for (const row of rows) {
    const progress = row.damaged
      ? 'DAMAGED (see below)'
      : `${row.completed}/${row.total} (${row.percentage!.toFixed(1)}%)${row.failed ? `, ${row.failed} failed` : ''}`;
    lines.push(
      `${String(row.sequence).padStart(3, '0')}  ${row.hash}  ${(row.parent ?? '-').padEnd(16)}  ${row.createdAt}  ${progress}`,
    );
  }
  return lines;
}

const UNKNOWN = { total: null, completed: null, failed: null, percentage: null };
