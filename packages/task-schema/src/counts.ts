import type { Status } from './schema.ts';

/** What {@link summarizeCounts} makes of a count of subtasks by status. */
export interface StatusTotals {
  /** Subtasks that count: every status but Obsolete. */
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  /** Neither Complete nor Failed (nor Obsolete). */
  readonly remaining: number;
  /** Complete out of `total`, rounded to one decimal; 100 when `total` is 0. */
  readonly percentage: number;
  /** The counts given. */
  readonly byStatus: Record<Status, number>;
}

/**
 * Totals of a count by status (`index.countByStatus(scope)`), as a progress report shows them:
 * Obsolete subtasks are left out of the total.
 *
 * @example
 * summarizeCounts(createBacklogIndex(backlog).countByStatus()).percentage; // 37.5
 */
export function summarizeCounts(counts: Record<Status, number>): StatusTotals {
  let all = 0;
  for (const value of Object.values(counts)) all += value;
  const total = all - counts.Obsolete;
  return {
    total,
    completed: counts.Complete,
    failed: counts.Failed,
    remaining: total - counts.Complete - counts.Failed,
    percentage: total === 0 ? 100 : Math.round((counts.Complete / total) * 1000) / 10,
    byStatus: counts,
  };
}
