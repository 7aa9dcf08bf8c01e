import type { Backlog } from '@savepoint/task-schema';
import { SESSION_FILES } from '../layout.ts';
import type { LoadedSession } from '../store.ts';
import { validateBacklog } from './backlog.ts';
import { applyBatches } from './changes.ts';

/** A loaded session's backlog: snapshot plus changes, validated once. */
export interface MaterializedBacklog {
  readonly backlog: Backlog;
  readonly inFlight: string[];
  /** The number of the last batch contained. */
  readonly sequence: number;
  /** Batches applied on top of the snapshot (what a compaction would fold in). */
  readonly replayed: number;
}

/**
 * Builds the backlog of a loaded session: parses the snapshot, applies the change batches in
 * place, and validates the result once.
 *
 * @throws SessionError `INVALID_BACKLOG`, `CORRUPT`
 */
export function materialize(loaded: LoadedSession): MaterializedBacklog {
  const { summary, snapshotText, changes } = loaded;
  const source = `${summary.path}/${SESSION_FILES.tasks}`;
  const sequence = loaded.snapshotSequence + changes.length;
  if (changes.length === 0) {
    const { backlog, inFlight } = validateBacklog(snapshotText, source, summary.path);
    return { backlog, inFlight, sequence, replayed: 0 };
  }
  let value: unknown;
  try {
    value = JSON.parse(
      snapshotText.charCodeAt(0) === 0xfeff ? snapshotText.slice(1) : snapshotText,
    );
  } catch {
    // Let the validator describe the syntax error with its line and column.
    validateBacklog(snapshotText, source, summary.path);
  }
  applyBatches(value, changes, { path: summary.path, id: summary.id });
  const { backlog, inFlight } = validateBacklog(value, source, summary.path);
  return { backlog, inFlight, sequence, replayed: changes.length };
}
