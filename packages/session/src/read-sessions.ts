import { createBacklogIndex, type Status } from '@savepoint/task-schema';
import { SessionError } from './errors.ts';
import { SessionManager } from './session-manager.ts';
import { readSession, type SessionSnapshot } from './sessions.ts';
import type { SessionStore, SessionSummary } from './store.ts';

/** One session as {@link readSessions} found it: read, or damaged. */
export type SessionReading =
  | {
      readonly summary: SessionSummary;
      readonly snapshot: SessionSnapshot;
      /** Its subtasks by status, every status a key. */
      readonly counts: Record<Status, number>;
      readonly error?: undefined;
    }
  | {
      readonly summary: SessionSummary;
      readonly snapshot?: undefined;
      readonly counts?: undefined;
      /** Why it cannot be read (`INVALID_BACKLOG`, `CORRUPT`, ...); see `recoveryHint`. */
      readonly error: SessionError;
    };

/**
 * Reads every session of `store`, oldest first, without locking any: each with its snapshot and
 * its subtasks counted by status, or with the `SessionError` that keeps it from being read. A
 * damaged session is listed as damaged, so one bad session neither hides the others nor is
 * mistaken for an absent one.
 *
 * @example
 * for (const { summary, counts, error } of await readSessions(createFileStore('plan'))) {
 *   console.log(summary.id, error ? `damaged: ${error.message}` : `${counts.Complete} complete`);
 * }
 * @throws SessionError `INCOMPLETE_SESSION` when the store lists a session lacking a required
 *   part, `IO`; an error that is not a `SessionError` is thrown as it is
 */
export async function readSessions(store: SessionStore): Promise<SessionReading[]> {
  const readings: SessionReading[] = [];
  for (const summary of await new SessionManager({ store }).listSessions()) {
    try {
      const snapshot = await readSession(summary.path, { store });
      const counts = createBacklogIndex(snapshot.backlog).countByStatus();
      readings.push({ summary, snapshot, counts });
    } catch (error) {
      if (!(error instanceof SessionError)) throw error;
      readings.push({ summary, error });
    }
  }
  return readings;
}
