import { describe } from './internal/describe.ts';

/** Issue code of a document that is not valid JSON. Always an error; carries `line` and `column`. */
export type JsonIssueCode = 'INVALID_JSON';

/**
 * Issue codes of the schema stage, all errors:
 * - `MISSING_FIELD`: a required key is absent.
 * - `INVALID_TYPE`: a value has the wrong JSON type (a string where an array belongs, ...).
 * - `INVALID_VALUE`: a value is not one of the allowed values (an unknown `status`, an item whose
 *   `type` does not belong at its level).
 * - `OUT_OF_RANGE`: a number is outside its range (`story_points` must be positive).
 */
export type SchemaIssueCode = 'MISSING_FIELD' | 'INVALID_TYPE' | 'INVALID_VALUE' | 'OUT_OF_RANGE';

/**
 * Issue codes of the graph stage ({@link checkBacklog}). Errors:
 * - `DUPLICATE_ID`: a second item uses an id; reported on every later occurrence.
 * - `ID_LEVEL_MISMATCH`: the id does not have its level's form (`P<n>`, `P<n>.M<n>`,
 *   `P<n>.M<n>.T<n>`, `P<n>.M<n>.T<n>.S<n>`, numbers from 1).
 * - `ID_PARENT_MISMATCH`: the id has its level's form but does not extend its parent's id.
 * - `UNKNOWN_DEPENDENCY`: a dependency names no item of the backlog.
 * - `SELF_DEPENDENCY`: a subtask depends on itself.
 * - `DEPENDENCY_CYCLE`: dependencies form a loop, so none of its subtasks can become ready.
 *   Depending on a container that holds the subtask itself is such a loop. The issue's `cycle`
 *   lists the ids along the loop, first id repeated at the end.
 *
 * Warnings:
 * - `DUPLICATE_DEPENDENCY`: the same id appears twice in one `dependencies` array.
 * - `IN_FLIGHT_STATUS`: a subtask is Researching, Implementing or Retrying, which in a file nobody
 *   is running means an interrupted run; or a container has an in-flight status its children do
 *   not explain. A container that is Implementing because some children are done and others not
 *   is the normal roll-up (see the index) and is not reported.
 * - `COMPLETE_PARENT_UNFINISHED_CHILD`: a Complete container has a child that is neither Complete
 *   nor Obsolete.
 * - `UNKNOWN_CURRENT_ITEM`: `currentItemId` names no item of the backlog.
 */
export type GraphIssueCode =
  | 'DUPLICATE_ID'
  | 'ID_LEVEL_MISMATCH'
  | 'ID_PARENT_MISMATCH'
  | 'UNKNOWN_DEPENDENCY'
  | 'SELF_DEPENDENCY'
  | 'DEPENDENCY_CYCLE'
  | 'DUPLICATE_DEPENDENCY'
  | 'IN_FLIGHT_STATUS'
  | 'COMPLETE_PARENT_UNFINISHED_CHILD'
  | 'UNKNOWN_CURRENT_ITEM';

/**
 * Issue codes of {@link lintContextScope}, warnings by default:
 * - `CONTEXT_SCOPE_MISSING_SECTION`: one or more of the five section headings is absent.
 * - `CONTEXT_SCOPE_SECTION_ORDER`: all headings are present but not in contract order.
 * - `CONTEXT_SCOPE_EMPTY_SECTION`: a numbered section has no text.
 */
export type ContextScopeIssueCode =
  | 'CONTEXT_SCOPE_MISSING_SECTION'
  | 'CONTEXT_SCOPE_SECTION_ORDER'
  | 'CONTEXT_SCOPE_EMPTY_SECTION';

/** Every code a {@link BacklogIssue} can carry. */
export type BacklogIssueCode =
  | JsonIssueCode
  | SchemaIssueCode
  | GraphIssueCode
  | ContextScopeIssueCode;

/** Errors stop a backlog from loading; warnings are reported and tolerated. */
export type IssueSeverity = 'error' | 'warning';

/** A JSON path: object keys and array indexes from the document root. */
export type IssuePath = (string | number)[];

/**
 * One problem found in a backlog document.
 *
 * @example
 * ```ts
 * {
 *   code: 'UNKNOWN_DEPENDENCY',
 *   severity: 'error',
 *   path: ['backlog', 0, 'milestones', 1, 'tasks', 0, 'subtasks', 2, 'dependencies', 0],
 *   itemId: 'P1.M2.T1.S3',
 *   message: 'P1.M2.T1.S3 depends on "P1.M9.T1", which is not an item of this backlog',
 * }
 * ```
 */
export interface BacklogIssue {
  /** What kind of problem this is; see {@link BacklogIssueCode}. */
  code: BacklogIssueCode;
  /** `'error'` fails {@link parseBacklog}; `'warning'` does not. */
  severity: IssueSeverity;
  /** Where the problem is, as a JSON path from the document root (empty for the whole document). */
  path: IssuePath;
  /** The id of the item the problem is in, when that item has a string id. */
  itemId?: string;
  /** A sentence a person can act on. */
  message: string;
  /** 1-based line of an `INVALID_JSON` problem. */
  line?: number;
  /** 1-based column (UTF-16 code units) of an `INVALID_JSON` problem. */
  column?: number;
  /** For `DEPENDENCY_CYCLE`: the ids along the loop, the first id repeated at the end. */
  cycle?: string[];
}

/**
 * Formats a JSON path the way people read it: `backlog[0].milestones[1].tasks[0].dependencies[0]`.
 * Keys that are not identifiers are quoted (`backlog[0]["odd key"]`); the empty path is `(root)`.
 */
export function formatPath(path: readonly (string | number)[]): string {
  if (!Array.isArray(path)) {
    throw new TypeError(`formatPath expected an array of keys and indexes, got ${describe(path)}`);
  }
  if (path.length === 0) return '(root)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/**
 * Formats an issue as one line for a terminal or a log:
 * `error UNKNOWN_DEPENDENCY at backlog[0].milestones[1].tasks[0].subtasks[2].dependencies[0]: ...`.
 * JSON syntax errors show `line:column` instead of a path.
 *
 * @param issue - the issue to format.
 * @param options - `source`, a file name to put first (`tasks.json: error ...`).
 */
export function formatIssue(issue: BacklogIssue, options: { source?: string } = {}): string {
  if (typeof issue !== 'object' || issue === null || typeof issue.message !== 'string') {
    throw new TypeError(`formatIssue expected a BacklogIssue, got ${describe(issue)}`);
  }
  const where =
    issue.line !== undefined
      ? `line ${issue.line}, column ${issue.column ?? 1}`
      : formatPath(issue.path ?? []);
  const prefix = options.source ? `${options.source}: ` : '';
  return `${prefix}${issue.severity} ${issue.code} at ${where}: ${issue.message}`;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
