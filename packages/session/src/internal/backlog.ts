import {
  type Backlog,
  BacklogError,
  type BacklogIndex,
  IN_FLIGHT_STATUSES,
  parseBacklog,
} from '@savepoint/task-schema';
import { SessionError, type SessionIssue } from '../errors.ts';
import type { SessionMetadata } from '../sessions.ts';
import type { SessionSummary } from '../store.ts';

const IN_FLIGHT: ReadonlySet<string> = new Set(IN_FLIGHT_STATUSES);

/**
 * Validates a backlog (text or value: schema and graph checks), mapping the schema package's
 * errors to `INVALID_BACKLOG`. A value is returned as is, not copied.
 */
export function validateBacklog(input: unknown, source: string, path?: string): Backlog {
  try {
    return parseBacklog(input, { source });
  } catch (error) {
    throw invalid(error, source, path);
  }
}

/** Parses and validates the text of a `tasks.json`. */
export function parseTasksText(text: string, source: string, summary: SessionSummary): Backlog {
  return validateBacklog(text, source, summary.path);
}

/** Subtasks of the index's backlog in an in-flight status, in backlog order. */
export function findInFlight(index: BacklogIndex): string[] {
  const ids: string[] = [];
  for (const subtask of index.subtasks()) {
    if (IN_FLIGHT.has(subtask.status)) ids.push(subtask.id);
  }
  return ids;
}

/** Subtasks of a backlog in an in-flight status, in backlog order. */
export function findInFlightIn(backlog: Backlog): string[] {
  const ids: string[] = [];
  for (const phase of backlog.backlog) {
    for (const milestone of phase.milestones) {
      for (const task of milestone.tasks) {
        for (const subtask of task.subtasks) {
          if (IN_FLIGHT.has(subtask.status)) ids.push(subtask.id);
        }
      }
    }
  }
  return ids;
}

/** Returns in-flight subtasks to Planned with roll-up; returns their ids. */
export function resetInFlight(index: BacklogIndex): string[] {
  const ids = findInFlight(index);
  for (const id of ids) index.setStatus(id, 'Planned', { rollUp: true });
  return ids;
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

function invalid(error: unknown, source: string, path: string | undefined): unknown {
  if (error instanceof BacklogError) {
    return new SessionError('INVALID_BACKLOG', error.message, {
      ...(path ? { path } : {}),
      issues: error.issues.filter((issue) => issue.severity === 'error').map(toIssue),
      cause: error,
    });
  }
  if (error instanceof TypeError) return error;
  return new SessionError('INVALID_BACKLOG', `${source}: ${String(error)}`, {
    ...(path ? { path } : {}),
    cause: error,
  });
}

function toIssue(issue: {
  code: string;
  path: readonly (string | number)[];
  message: string;
  itemId?: string;
}): SessionIssue {
  return {
    code: issue.code,
    path: [...issue.path],
    message: issue.message,
    ...(issue.itemId !== undefined ? { itemId: issue.itemId } : {}),
  };
}
