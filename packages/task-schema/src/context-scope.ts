import { describe } from './internal/describe.ts';
import type { BacklogIssue, ContextScopeIssueCode, IssueSeverity } from './issues.ts';
import type { Backlog } from './schema.ts';

/**
 * The section headings of the `context_scope` contract, in the order they must appear, each at
 * the start of a line (leading spaces allowed).
 */
export const CONTEXT_SCOPE_SECTIONS = [
  'CONTRACT DEFINITION:',
  '1. RESEARCH NOTE:',
  '2. INPUT:',
  '3. LOGIC:',
  '4. OUTPUT:',
] as const;

/** Options of {@link lintContextScope}. */
export interface LintContextScopeOptions {
  /**
   * The severity given to every issue. A CLI in strict mode can ask for errors.
   * @default 'warning'
   */
  severity?: IssueSeverity;
}

/**
 * Checks `context_scope` texts against the four-section contract: `CONTRACT DEFINITION:` then
 * `1. RESEARCH NOTE:`, `2. INPUT:`, `3. LOGIC:`, `4. OUTPUT:`, each heading at the start of a line,
 * in that order, and each numbered section with some text. This is a lint, separate from
 * {@link checkBacklog}: it never makes a backlog fail to parse.
 *
 * @param input - a backlog (every subtask is checked; issue paths point at `context_scope`), or
 *   one `context_scope` text (issue paths are empty).
 * @returns one issue per problem found (codes in {@link ContextScopeIssueCode}), in document order.
 *
 * @example
 * ```ts
 * for (const issue of lintContextScope(backlog)) console.warn(formatIssue(issue));
 * ```
 */
export function lintContextScope(
  input: Backlog | string,
  options: LintContextScopeOptions = {},
): BacklogIssue[] {
  const severity = options.severity ?? 'warning';
  if (severity !== 'warning' && severity !== 'error') {
    throw new TypeError(`options.severity must be 'warning' or 'error', got ${describe(severity)}`);
  }
  if (typeof input === 'string') return lintText(input, [], undefined, severity);
  if (typeof input !== 'object' || input === null || !Array.isArray(input.backlog)) {
    throw new TypeError(
      `lintContextScope expected a backlog or a context_scope string, got ${describe(input)}`,
    );
  }
  const issues: BacklogIssue[] = [];
  input.backlog.forEach((phase, p) => {
    phase.milestones.forEach((milestone, m) => {
      milestone.tasks.forEach((task, t) => {
        task.subtasks.forEach((subtask, s) => {
          const path = ['backlog', p, 'milestones', m, 'tasks', t, 'subtasks', s, 'context_scope'];
          issues.push(...lintText(subtask.context_scope, path, subtask.id, severity));
        });
      });
    });
  });
  return issues;
}

function lintText(
  text: string,
  path: (string | number)[],
  itemId: string | undefined,
  severity: IssueSeverity,
): BacklogIssue[] {
  const issue = (code: ContextScopeIssueCode, message: string): BacklogIssue => {
    const result: BacklogIssue = { code, severity, path, message };
    if (itemId !== undefined) result.itemId = itemId;
    return result;
  };
  const owner = itemId === undefined ? 'context_scope' : `context_scope of ${itemId}`;
  const found = CONTEXT_SCOPE_SECTIONS.map((heading) => findHeading(text, heading));
  const missing = CONTEXT_SCOPE_SECTIONS.filter((_, k) => found[k] === undefined);
  if (missing.length > 0) {
    return [
      issue(
        'CONTEXT_SCOPE_MISSING_SECTION',
        `${owner} lacks ${missing.map((heading) => JSON.stringify(heading)).join(', ')}; each section heading must start a line`,
      ),
    ];
  }
  const at = found as { start: number; end: number }[];
  for (let k = 1; k < at.length; k++) {
    if (at[k]!.start < at[k - 1]!.start) {
      return [
        issue(
          'CONTEXT_SCOPE_SECTION_ORDER',
          `${owner} has ${JSON.stringify(CONTEXT_SCOPE_SECTIONS[k])} before ${JSON.stringify(CONTEXT_SCOPE_SECTIONS[k - 1])}; the sections must come in the order ${CONTEXT_SCOPE_SECTIONS.join(' ')}`,
        ),
      ];
    }
  }
  const issues: BacklogIssue[] = [];
  // The contract heading introduces the numbered sections and needs no text of its own.
  for (let k = 1; k < at.length; k++) {
    const body = text.slice(at[k]!.end, k + 1 < at.length ? at[k + 1]!.start : text.length);
    if (body.trim() === '') {
      issues.push(
        issue(
          'CONTEXT_SCOPE_EMPTY_SECTION',
          `${owner} has an empty ${JSON.stringify(CONTEXT_SCOPE_SECTIONS[k])} section`,
        ),
      );
    }
  }
  return issues;
}

/** The first occurrence of a heading at the start of a line (after optional spaces or tabs). */
function findHeading(text: string, heading: string): { start: number; end: number } | undefined {
  for (let at = text.indexOf(heading); at !== -1; at = text.indexOf(heading, at + 1)) {
    let k = at - 1;
    while (k >= 0 && (text[k] === ' ' || text[k] === '\t')) k--;
    if (k < 0 || text[k] === '\n' || text[k] === '\r')
      return { start: at, end: at + heading.length };
  }
  return undefined;
}
