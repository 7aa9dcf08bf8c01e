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
