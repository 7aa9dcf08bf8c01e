import {
  type Backlog,
  type BacklogIndex,
  type BacklogIssue,
  checkBacklog,
  safeParseBacklog,
} from '@savepoint/task-schema';
import { SessionError, type SessionIssue } from '../errors.ts';
import type { SessionMetadata } from '../sessions.ts';
import type { SessionSummary } from '../store.ts';

/** A validated backlog and the ids the validator found in flight. */
export interface ValidBacklog {
  readonly backlog: Backlog;
  readonly inFlight: string[];
}

/**
 * Validates a backlog (text or value: schema and graph checks), mapping the schema package's
 * errors to `INVALID_BACKLOG`. A value is returned as is, not copied.
 */
export function validateBacklog(input: unknown, source: string, path?: string): ValidBacklog {
  const result = safeParseBacklog(input, { source });
  if (!result.success) {
    const { error } = result;
    throw new SessionError('INVALID_BACKLOG', error.message, {
      ...(path ? { path } : {}),
      issues: error.issues.filter((issue) => issue.severity === 'error').map(toIssue),
      cause: error,
    });
  }
  return { backlog: result.data, inFlight: inFlightIds(result.warnings) };
}

/** A backlog taken from a caller: validated, copied, and its canonical text. */
export interface WritableBacklog extends ValidBacklog {
  /** `serializeBacklog(backlog)`: canonical 2-space JSON with a final newline. */
  readonly text: string;
}

/**
 * Takes a backlog value from a caller once: serialises it strictly (a BigInt, function, symbol or
 * cycle is refused rather than dropped or thrown raw), parses the text back into a private copy
 * the caller cannot change, and validates that copy.
 *
 * @throws SessionError `INVALID_BACKLOG`
 */
export function takeBacklog(input: unknown, source: string, path?: string): WritableBacklog {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SessionError(
      'INVALID_BACKLOG',
      `${source}: expected a backlog object {"backlog": [...]}, got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
      {
        ...(path ? { path } : {}),
        issues: [{ code: 'SCHEMA', path: [], message: 'expected a backlog object' }],
      },
    );
  }
  let text: string;
  try {
    text = `${JSON.stringify(input, strictValue, 2)}\n`;
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new SessionError('INVALID_BACKLOG', `${source} cannot be written as JSON: ${message}`, {
      ...(path ? { path } : {}),
      issues: [{ code: 'NOT_JSON', path: [], message }],
      cause,
    });
  }
  const { backlog, inFlight } = validateBacklog(JSON.parse(text), source, path);
  return { backlog, inFlight, text };
}

function strictValue(this: unknown, key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'bigint' || type === 'function' || type === 'symbol') {
    const where = key === '' ? 'the backlog' : `key ${JSON.stringify(key)}`;
    throw new TypeError(`${where} holds a ${type}, which JSON cannot hold`);
  }
  return value;
}

/**
 * Items a crash left in flight, in document order: subtasks that are Researching, Implementing
 * or Retrying, and containers with an in-flight status their children do not explain (the
 * validator's `IN_FLIGHT_STATUS` warnings).
 */
export function findInFlight(backlog: Backlog): string[] {
  return inFlightIds(checkBacklog(backlog));
}

/**
 * Returns in-flight items to rest: subtasks to Planned, rolling up to their ancestors; then any
 * container still in an unexplained in-flight status to what its children roll up to (Planned
 * when it has none). Returns the ids changed, in document order.
 */
export function resetInFlight(index: BacklogIndex): string[] {
  const found = findInFlight(index.backlog);
  const containers: string[] = [];
  for (const id of found) {
    if (index.get(id)?.type === 'Subtask') index.setStatus(id, 'Planned', { rollUp: true });
    else containers.push(id);
  }
  // Deepest first: settling a container re-derives its ancestors. Re-setting a child to its own
  // status re-derives every ancestor with the index's own roll-up rule, so the container lands on
  // what its children say (and one already settled by a deeper one stays as it is).
  for (const id of containers.reverse()) {
    const [child] = index.getChildren(id);
    if (child) index.setStatus(child.id, child.status, { rollUp: true });
    else index.setStatus(id, 'Planned', { rollUp: true });
  }
  return found;
}

/** Builds session metadata from a store summary. */
export function toMetadata(summary: SessionSummary, parentSession: string | null): SessionMetadata {
  return {
    id: summary.id,
    sequence: summary.sequence,
    hash: summary.hash,
    path: summary.path,
    createdAt: summary.createdAt,
    parentSession,
  };
}

function inFlightIds(issues: readonly BacklogIssue[]): string[] {
  const ids: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'IN_FLIGHT_STATUS' && issue.itemId !== undefined) ids.push(issue.itemId);
  }
  return ids;
}

function toIssue(issue: BacklogIssue): SessionIssue {
  return {
    code: issue.code,
    path: [...issue.path],
    message: issue.message,
    ...(issue.itemId !== undefined ? { itemId: issue.itemId } : {}),
  };
}
