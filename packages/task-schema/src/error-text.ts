import type { BacklogError } from './errors.ts';
import { formatIssue } from './issues.ts';

/**
 * A `BacklogError` as a person reads it at the end of a command: a first line naming the source
 * and the stage (`plan/001_ab12/tasks.json: invalid backlog (GRAPH)`, or the error's message when
 * it has no source), then each error issue as an indented {@link formatIssue} line, at most
 * `maxIssues` of them, then `  ... and N more` for the issues left out (warnings included).
 *
 * @example
 * catch (error) {
 *   if (error instanceof BacklogError) console.error(formatBacklogError(error));
 * }
 */
export function formatBacklogError(
  error: BacklogError,
  options: { readonly maxIssues?: number } = {},
): string {
  const shown = error.issues
    .filter((issue) => issue.severity === 'error')
    .slice(0, options.maxIssues ?? 20);
  const more = error.issues.length - shown.length;
  return [
    error.source ? `${error.source}: invalid backlog (${error.code})` : error.message,
    ...shown.map((issue) => `  ${formatIssue(issue)}`),
    ...(more > 0 ? [`  ... and ${more} more`] : []),
  ].join('\n');
}
