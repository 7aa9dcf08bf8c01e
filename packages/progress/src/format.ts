import { describeValue } from './internal/describe.ts';
import type { Progress } from './tracker.ts';

/**
 * Formats a duration for people: `45s`, `1m05s`, `2h03m`, `1d04h`. Rounds to the unit shown
 * last (seconds below an hour, minutes below a day, hours beyond), so `59.6s` is `1m00s`.
 *
 * @throws TypeError when `ms` is not a finite number >= 0.
 */
export function formatDuration(ms: number): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(
      `formatDuration: expected a finite number of ms >= 0, got ${describeValue(ms)}`,
    );
  }
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1440) return `${Math.floor(minutes / 60)}h${pad(minutes % 60)}m`;
  const hours = Math.round(ms / 3_600_000);
  return `${Math.floor(hours / 24)}d${pad(hours % 24)}h`;
}

/**
 * Formats a rate given per minute in the unit that keeps it readable: `2.5/s` from 60 a minute
 * up, `1.2/min` from 1 a minute up, `3.0/h` below.
 *
 * @throws TypeError when `ratePerMinute` is not a finite number >= 0.
 */
export function formatRate(ratePerMinute: number): string {
  if (typeof ratePerMinute !== 'number' || !Number.isFinite(ratePerMinute) || ratePerMinute < 0) {
    throw new TypeError(
      `formatRate: expected a finite number >= 0, got ${describeValue(ratePerMinute)}`,
    );
  }
  if (ratePerMinute >= 60) return `${(ratePerMinute / 60).toFixed(1)}/s`;
  if (ratePerMinute >= 1) return `${ratePerMinute.toFixed(1)}/min`;
  return `${(ratePerMinute * 60).toFixed(1)}/h`;
}

/**
 * Formats a percentage with one decimal (`48.8%`). An unfinished run never reads `100.0%`: a
 * value that would round up to it is shown as `99.9%`.
 */
export function formatPercentage(percentage: number): string {
  if (typeof percentage !== 'number' || !Number.isFinite(percentage)) {
    throw new TypeError(
      `formatPercentage: expected a finite number, got ${describeValue(percentage)}`,
    );
  }
  const text = percentage.toFixed(1);
  return text === '100.0' && percentage < 100 ? '99.9%' : `${text}%`;
}

/** The counts {@link summaryLine} and {@link summary} need; a full {@link Progress} will do. */
export type SummaryInput = Pick<
  Progress,
  'total' | 'completed' | 'failed' | 'remaining' | 'percentage'
> & { skipped?: number };

/**
 * One line for the end of a run (or a log):
 * `Progress: 40/82 complete (48.8%), 3 failed, 39 remaining`, with `, 2 skipped` appended when
 * items were skipped.
 */
export function summaryLine(progress: SummaryInput): string {
  checkSummaryInput('summaryLine', progress);
  const skipped = progress.skipped ?? 0;
  return (
    `Progress: ${progress.completed}/${progress.total} complete (${formatPercentage(progress.percentage)}), ` +
    `${progress.failed} failed, ${progress.remaining} remaining` +
    (skipped > 0 ? `, ${skipped} skipped` : '')
  );
}

/** The progress fields a run logs when it stops, named as its users' log queries expect. */
export interface ProgressSummary {
  completedTasks: number;
  /** `remaining`: items neither completed nor failed. */
  pendingTasks: number;
  totalTasks: number;
  /** The percentage with one decimal, e.g. `'48.8%'`. */
  completionRate: string;
}

/**
 * The structured form of {@link summaryLine} for a logger:
 * `{ completedTasks, pendingTasks, totalTasks, completionRate: '48.8%' }`.
 */
export function summary(progress: SummaryInput): ProgressSummary {
  checkSummaryInput('summary', progress);
  return {
    completedTasks: progress.completed,
    pendingTasks: progress.remaining,
    totalTasks: progress.total,
    completionRate: formatPercentage(progress.percentage),
  };
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

function checkSummaryInput(name: string, progress: SummaryInput): void {
  if (typeof progress !== 'object' || progress === null) {
    throw new TypeError(`${name}: expected a progress object, got ${describeValue(progress)}`);
  }
  for (const key of ['total', 'completed', 'failed', 'remaining', 'percentage'] as const) {
    if (typeof progress[key] !== 'number' || !Number.isFinite(progress[key])) {
      throw new TypeError(
        `${name}: expected progress.${key} to be a number, got ${describeValue(progress[key])}`,
      );
    }
  }
}
