import type * as z from 'zod';
import { checkBacklog } from './check.ts';
import { BacklogError } from './errors.ts';
import { describe } from './internal/describe.ts';
import { findJsonSyntaxError, lineAndColumn } from './internal/json-syntax.ts';
import { type BacklogIssue, formatPath, type IssuePath, type SchemaIssueCode } from './issues.ts';
import { type Backlog, BacklogSchema, STATUSES } from './schema.ts';

/** Options of {@link parseBacklog} and {@link safeParseBacklog}. */
export interface ParseBacklogOptions {
  /** The file the input came from; errors name it in `source` and in their message. */
  source?: string;
}

/** What {@link safeParseBacklog} returns: the backlog and its warnings, or the error. */
export type SafeParseBacklogResult =
  | { success: true; data: Backlog; warnings: BacklogIssue[] }
  | { success: false; error: BacklogError };

/**
 * Reads a backlog: parses JSON text (a string or UTF-8 bytes; any other value is taken as already
 * parsed), validates it against {@link BacklogSchema}, then runs {@link checkBacklog}. Warnings do
 * not fail the parse; use {@link safeParseBacklog} to see them.
 *
 * Reading is lossless: the result is the parsed value itself, so unknown keys stay, key order
 * stays and nothing is defaulted. Given a value rather than text, it returns that same object
 * (no copy). A leading byte order mark is ignored.
 *
 * @param input - JSON text, UTF-8 bytes, or a parsed value.
 * @param options - `source`: the file name to put in errors.
 * @throws BacklogError with code `INVALID_JSON` (the issue has `line` and `column`), `SCHEMA`
 *   (every schema problem with its path) or `GRAPH` (every graph error and warning).
 *
 * @example
 * ```ts
 * const backlog = parseBacklog(await readFile(file, 'utf8'), { source: file });
 * ```
 */
export function parseBacklog(input: unknown, options?: ParseBacklogOptions): Backlog {
  const result = safeParseBacklog(input, options);
  if (!result.success) throw result.error;
  return result.data;
}

/**
 * Like {@link parseBacklog} but returns `{ success: false, error }` instead of throwing, and
 * `{ success: true, data, warnings }` on success, where `warnings` are the graph warnings
 * (in-flight statuses, Complete containers with unfinished children, ...).
 */
export function safeParseBacklog(
  input: unknown,
  options: ParseBacklogOptions = {},
): SafeParseBacklogResult {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`safeParseBacklog expected an options object, got ${describe(options)}`);
  }
  const { source } = options;
  if (source !== undefined && typeof source !== 'string') {
    throw new TypeError(`options.source must be a file name string, got ${describe(source)}`);
  }

  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    const parsed = parseJson(text);
    if ('issue' in parsed) {
      return failure('INVALID_JSON', [parsed.issue], source, parsed.cause);
    }
    value = parsed.value;
  }

  const checked = BacklogSchema.safeParse(value);
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => fromZodIssue(issue, value));
    return failure('SCHEMA', issues, source, checked.error);
  }

  const backlog = value as Backlog;
  const issues = checkBacklog(backlog);
  if (issues.some((issue) => issue.severity === 'error')) {
    return failure('GRAPH', issues, source);
  }
  return { success: true, data: backlog, warnings: issues };
}

/**
 * Writes a backlog the canonical way: `JSON.stringify(backlog, null, 2)` plus a final newline, so
 * a status change is a one-line diff. Key order is the objects' own order.
 */
export function serializeBacklog(backlog: Backlog): string {
  if (typeof backlog !== 'object' || backlog === null || !Array.isArray(backlog.backlog)) {
    throw new TypeError(
      `serializeBacklog expected a backlog object with a "backlog" array, got ${describe(backlog)}`,
    );
  }
  return `${JSON.stringify(backlog, null, 2)}\n`;
}

function failure(
  code: 'INVALID_JSON' | 'SCHEMA' | 'GRAPH',
  issues: BacklogIssue[],
  source: string | undefined,
  cause?: unknown,
): SafeParseBacklogResult {
  return { success: false, error: new BacklogError(code, { issues, source, cause }) };
}

function parseJson(text: string): { value: unknown } | { issue: BacklogIssue; cause: unknown } {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const body = bom ? text.slice(1) : text;
  try {
    return { value: JSON.parse(body) };
  } catch (cause) {
    const problem = findJsonSyntaxError(body) ?? {
      offset: body.length,
      message: cause instanceof Error ? cause.message : String(cause),
    };
    const { line, column } = lineAndColumn(text, problem.offset + bom);
    return {
      cause,
      issue: {
        code: 'INVALID_JSON',
        severity: 'error',
        path: [],
        message: problem.message,
        line,
        column,
      },
    };
  }
}

const TYPE_TEXT: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  array: 'an array',
  object: 'an object',
  boolean: 'a boolean',
  null: 'null',
};

/** Turns a zod issue into a {@link BacklogIssue} with a message that names the item and field. */
function fromZodIssue(issue: z.core.$ZodIssue, root: unknown): BacklogIssue {
  const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
  const last = path[path.length - 1];
  // The object the offending field belongs to: for `...subtasks[2].title` the subtask, for
  // `...subtasks[2]` (an element of the wrong type) the task holding the array.
  const ownerDepth = typeof last === 'number' ? path.length - 2 : path.length - 1;
  let owner: unknown = root;
  let value: unknown = root;
  for (let k = 0; k < path.length; k++) {
    value = isRecord(value) || Array.isArray(value) ? (value as never)[path[k]!] : undefined;
    if (k + 1 === ownerDepth) owner = value;
  }
  const itemId = isRecord(owner) && typeof owner.id === 'string' ? owner.id : undefined;
  const ownerText =
    ownerDepth <= 0 ? 'the document' : (itemId ?? formatPath(path.slice(0, ownerDepth)));

  const field =
    last === undefined
      ? 'the document'
      : typeof last === 'number'
        ? `${String(path[path.length - 2] ?? '')}[${last}]`
        : JSON.stringify(last);
  const subject = last === undefined ? field : `${field} of ${ownerText}`;
  const got = `got ${describe(value)}`;
  const expected =
    path.length === 0
      ? 'an object with a "backlog" array'
      : last === 'currentItemId'
        ? 'a string or null'
        : issue.code === 'invalid_type'
          ? (TYPE_TEXT[issue.expected] ?? issue.expected)
          : issue.code === 'invalid_value' && last === 'status'
            ? 'a status'
            : 'a value';

  let code: SchemaIssueCode;
  let message: string;
  if (value === undefined && typeof last === 'string') {
    code = 'MISSING_FIELD';
    message = `${ownerText} is missing the required field ${field} (${expected})`;
  } else {
    switch (issue.code) {
      case 'invalid_type':
        code = 'INVALID_TYPE';
        message = `${subject} must be ${expected}, ${got}`;
        break;
      case 'invalid_value': {
        code = 'INVALID_VALUE';
        const values = issue.values.map((v) => (typeof v === 'string' ? v : String(v)));
        message =
          last === 'status' && values.length === STATUSES.length
            ? `${subject} must be one of ${values.join(', ')}; ${got}`
            : `${subject} must be ${values.map((v) => JSON.stringify(v)).join(' or ')}, ${got}`;
        break;
      }
      case 'too_small':
      case 'too_big': {
        code = issue.origin === 'number' ? 'OUT_OF_RANGE' : 'INVALID_VALUE';
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const relation =
          issue.code === 'too_small'
            ? issue.inclusive
              ? 'at least'
              : 'greater than'
            : issue.inclusive
              ? 'at most'
              : 'less than';
        message = `${subject} must be ${relation} ${String(bound)}, ${got}`;
        break;
      }
      default:
        code = 'INVALID_VALUE';
        message = `${subject}: ${issue.message}`;
    }
  }
  const result: BacklogIssue = { code, severity: 'error', path: path as IssuePath, message };
  if (itemId !== undefined) result.itemId = itemId;
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
