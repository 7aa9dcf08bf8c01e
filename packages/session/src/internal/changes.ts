import type { Status } from '@savepoint/task-schema';
import { SessionError } from '../errors.ts';
import type { ChangeBatch, StatusChange } from '../store.ts';

/**
 * The changes made in memory since the last flush: the latest status of each changed item (in
 * the order first changed) and `currentItemId` when it changed. Absolute values, so a batch can be
 * applied twice without harm.
 */
export class PendingChanges {
  #statuses = new Map<string, Status>();
  #current: { id: string | null } | undefined;
  /** Updates counted for statistics: one per call that changed something. */
  #updates = 0;

  /** Updates since the last take. */
  get updates(): number {
    return this.#updates;
  }

  /** Whether anything changed since the last take. */
  get isEmpty(): boolean {
    return this.#statuses.size === 0 && this.#current === undefined;
  }

  /** Records item statuses (the item and the ancestors its change rolled up to). */
  setStatuses(changes: Iterable<StatusChange>, updates: number): void {
    for (const change of changes) this.#statuses.set(change.id, change.status);
    this.#updates += updates;
  }

  /** Records a new `currentItemId`. */
  setCurrent(id: string | null): void {
    this.#current = { id };
    this.#updates += 1;
  }

  /** Counts an update that changed nothing recordable (kept for statistics). */
  count(updates: number): void {
    this.#updates += updates;
  }

  /** Hands everything over as batch `sequence` and starts empty. */
  take(sequence: number): { batch: ChangeBatch; updates: number } {
    const statuses: StatusChange[] = [];
    for (const [id, status] of this.#statuses) statuses.push({ id, status });
    const batch: ChangeBatch = {
      sequence,
      statuses,
      ...(this.#current !== undefined ? { currentItemId: this.#current.id } : {}),
    };
    const updates = this.#updates;
    this.clear();
    return { batch, updates };
  }

  /**
   * Puts a batch that failed to be written back under the changes made since it was taken:
   * a newer value of the same item wins.
   */
  restore(batch: ChangeBatch, updates: number): void {
    const newer = this.#statuses;
    this.#statuses = new Map();
    for (const change of batch.statuses) this.#statuses.set(change.id, change.status);
    for (const [id, status] of newer) this.#statuses.set(id, status);
    if (this.#current === undefined && batch.currentItemId !== undefined) {
      this.#current = { id: batch.currentItemId };
    }
    this.#updates += updates;
  }

  /** Forgets everything (a compaction wrote the whole state). */
  clear(): void {
    this.#statuses = new Map();
    this.#current = undefined;
    this.#updates = 0;
  }
}

/**
 * Applies change batches to a freshly parsed (not yet validated) backlog value in place, so the
 * result is validated once. Items are found by a single walk of the tree.
 *
 * @param where - the session, for errors
 * @throws SessionError `CORRUPT` when a batch names an item the backlog does not have
 */
export function applyBatches(
  value: unknown,
  batches: readonly ChangeBatch[],
  where: { path: string; id: string },
): void {
  if (batches.length === 0) return;
  if (typeof value !== 'object' || value === null) return; // validation reports it
  // The net effect first (the last status of each item), then one walk of the tree that sets it.
  const net = new Map<string, Status>();
  const document = value as { currentItemId?: unknown };
  for (const batch of batches) {
    for (const change of batch.statuses) net.set(change.id, change.status);
    if (batch.currentItemId !== undefined) document.currentItemId = batch.currentItemId;
  }
  const found = new Set<string>();
  const walk = (list: unknown, depth: number): void => {
    if (!Array.isArray(list)) return;
    const key = CHILDREN[depth];
    for (const item of list) {
      if (typeof item !== 'object' || item === null) continue;
      const { id } = item as { id?: unknown };
      if (typeof id === 'string') {
        const status = net.get(id);
        if (status !== undefined) {
          (item as { status?: unknown }).status = status;
          found.add(id);
        }
      }
      if (key !== undefined) walk((item as Record<string, unknown>)[key], depth + 1);
    }
  };
  walk((value as { backlog?: unknown }).backlog, 0);
  if (found.size === net.size) return;
  for (const batch of batches) {
    const missing = batch.statuses.find((change) => !found.has(change.id));
    if (missing) {
      throw new SessionError(
        'CORRUPT',
        `change batch ${batch.sequence} of session ${where.id} names item ${JSON.stringify(missing.id)}, which its snapshot does not have`,
        { path: where.path, id: where.id },
      );
    }
  }
}

const CHILDREN = ['milestones', 'tasks', 'subtasks'] as const;
