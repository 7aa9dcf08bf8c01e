import { type BacklogIssue, formatPath } from './issues.ts';

/**
 * Which stage failed:
 * - `INVALID_JSON`: the text is not JSON (the issue has `line` and `column`).
 * - `SCHEMA`: the value does not have the backlog's shape.
 * - `GRAPH`: the shape is right but ids or dependencies are broken (see {@link GraphIssueCode}).
 * - `UNKNOWN_ID`: an index operation named an id that is not in the backlog (`itemId` says which).
 */
export type BacklogErrorCode = 'INVALID_JSON' | 'SCHEMA' | 'GRAPH' | 'UNKNOWN_ID';

/** Options of the {@link BacklogError} constructor. */
export interface BacklogErrorOptions {
  /** Every problem found; the message quotes the first few errors. */
  issues?: readonly BacklogIssue[];
  /** The file the backlog came from, when known. */
  source?: string;
  /** The id the failing operation was about. */
  itemId?: string;
  /** The underlying error, such as the `SyntaxError` from `JSON.parse`. */
  cause?: unknown;
  /** Replaces the generated message. */
  message?: string;
}

/**
 * The one error class of this package. `code` says which stage failed, `issues` lists every
 * problem found (errors first, then warnings), `source` names the file when one was given.
 *
 * @example
 * ```ts
 * try {
 *   parseBacklog(text, { source: 'plan/001_ab12/tasks.json' });
 * } catch (error) {
 *   if (error instanceof BacklogError) for (const issue of error.issues) console.error(formatIssue(issue));
 * }
 * ```
 */
export class BacklogError extends Error {
  /** Which stage failed; see {@link BacklogErrorCode}. */
  readonly code: BacklogErrorCode;
  /** Every problem found, errors before warnings. Empty for `UNKNOWN_ID`. */
  readonly issues: readonly BacklogIssue[];
  /** The file the backlog came from, when the caller named it. */
  readonly source: string | undefined;
  /** The id the failing operation was about (`UNKNOWN_ID`). */
  readonly itemId: string | undefined;

  constructor(code: BacklogErrorCode, options: BacklogErrorOptions = {}) {
    const issues = sortErrorsFirst(options.issues ?? []);
    super(options.message ?? buildMessage(code, issues, options), { cause: options.cause });
    this.name = 'BacklogError';
    this.code = code;
    this.issues = issues;
    this.source = options.source;
    this.itemId = options.itemId;
  }
}

const STAGE: Record<BacklogErrorCode, string> = {
  INVALID_JSON: 'invalid JSON',
  SCHEMA: 'not a valid backlog',
  GRAPH: 'broken ids or dependencies',
  UNKNOWN_ID: 'unknown id',
};

/** How many issues the message quotes; the rest are in `issues`. */
const QUOTED = 3;

function buildMessage(
  code: BacklogErrorCode,
  issues: readonly BacklogIssue[],
  options: BacklogErrorOptions,
): string {
  const source = options.source ?? 'backlog';
  if (code === 'UNKNOWN_ID') return `${source}: no item has id ${JSON.stringify(options.itemId)}`;
  const errors = issues.filter((issue) => issue.severity === 'error');
  const quoted = (errors.length > 0 ? errors : issues).slice(0, QUOTED).map((issue) => {
    const where =
      issue.line !== undefined
        ? `line ${issue.line}, column ${issue.column ?? 1}`
        : formatPath(issue.path);
    return `${where}: ${issue.message}`;
  });
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  const rest = errors.length > QUOTED ? `; and ${errors.length - QUOTED} more` : '';
  return `${source}: ${STAGE[code]} (${count}): ${quoted.join('; ')}${rest}`;
}

function sortErrorsFirst(issues: readonly BacklogIssue[]): BacklogIssue[] {
  const errors = issues.filter((issue) => issue.severity === 'error');
  return errors.length === issues.length
    ? [...issues]
    : [...errors, ...issues.filter((issue) => issue.severity !== 'error')];
}
