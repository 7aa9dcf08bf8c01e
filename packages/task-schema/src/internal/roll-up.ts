import { STATUSES } from '../schema.ts';

/** Index of each status in STATUSES, which is how counters and the index store statuses. */
export const STATUS_INDEX: ReadonlyMap<string, number> = new Map(
  STATUSES.map((status, k) => [status, k]),
);

export const PLANNED = STATUSES.indexOf('Planned');
export const IMPLEMENTING = STATUSES.indexOf('Implementing');
export const COMPLETE = STATUSES.indexOf('Complete');
export const FAILED = STATUSES.indexOf('Failed');
export const OBSOLETE = STATUSES.indexOf('Obsolete');

/**
 * The roll-up rule: the status a container takes from its direct children, given how many
 * children have each status (`counts[row + statusIndex]`) and how many children there are (> 0).
 * All Obsolete -> Obsolete; all Complete or Obsolete -> Complete; every unfinished child Failed ->
 * Failed; any child not Planned -> Implementing; else Planned.
 */
export function rollUpStatus(counts: ArrayLike<number>, row: number, total: number): number {
  const complete = counts[row + COMPLETE]!;
  const obsolete = counts[row + OBSOLETE]!;
  if (obsolete === total) return OBSOLETE;
  if (complete + obsolete === total) return COMPLETE;
  if (counts[row + FAILED] === total - complete - obsolete) return FAILED;
  if (counts[row + PLANNED]! < total) return IMPLEMENTING;
  return PLANNED;
}
