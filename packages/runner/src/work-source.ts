import type { SessionManager } from '@savepoint/session';
import type { Subtask } from '@savepoint/task-schema';

/** The final status a claim ends with: done, failed, or given back to run again later. */
export type OutcomeStatus = 'Complete' | 'Failed' | 'Planned';

/**
 * Where a runner gets its work and records what happened to it. The in-process implementation
 * ({@link createSessionSource}) claims through the open session's index. A store that serves
 * several workers (`@savepoint/session`'s `SessionClaims`: `claimNext` under a lease for a worker
 * id, `renew`, `record` fenced by the lease) fits behind the same interface: `claim` maps to
 * `claimNext`, the source renews the leases it holds on a timer of its own, and `release` maps to
 * `record`, returning `false` when the lease was lost so the runner drops that outcome.
 */
export interface WorkSource {
  /** Puts work a killed run left in flight back at rest; returns the ids it reset. */
  open(): Promise<string[]>;
  /**
   * The next ready subtask in scope (every dependency done, depth-first), now held by this
   * runner and Implementing, or `undefined` when nothing is ready now. A subtask is handed out
   * only once the outcomes of its dependencies are durable: a dependant is never claimed on an
   * unsaved Complete (a subtask that does not depend on an outcome being written need not wait).
   */
  claim(): Promise<Subtask | undefined>;
  /** Records a status of a held subtask between attempts (Retrying, then Implementing again). */
  mark(id: string, status: 'Implementing' | 'Retrying'): Promise<void>;
  /**
   * Records the outcome durably and gives up the claim. Resolves `false` when the outcome was not
   * recorded because the claim was no longer this runner's (a lease that expired): the subtask
   * will run again elsewhere, and the runner does not count it.
   */
  release(id: string, outcome: OutcomeStatus): Promise<boolean>;
  /** Gives every held claim back (Planned) in memory, synchronously: for a process that must exit now. */
  releaseAllSync(): void;
}

/** Options of {@link createSessionSource}. */
export interface SessionSourceOptions {
  /** Only subtasks under this item id. */
  scope?: string;
  /**
   * `'outcome'`: write after every outcome (the default). `'change'`: also after every status
   * change (a claim, a retry), which costs more writes and loses less of a killed run's state.
   * @default 'outcome'
   */
  flush?: 'outcome' | 'change';
}

/**
 * A {@link WorkSource} over an open session of this process: claims are held in memory (the
 * session's lock already keeps other processes out), statuses go through the session manager,
 * and each outcome is flushed before a subtask that depends on it is claimed.
 */
export function createSessionSource(
  manager: SessionManager,
  options: SessionSourceOptions = {},
): WorkSource {
  const held = new Set<string>();
  // Failed in this run: not claimed again until the next run.
  const failed = new Set<string>();
  // Outcomes being written, by subtask id: a dependant waits for its dependencies' to be durable.
  const unsaved = new Map<string, Promise<void>>();
  const eager = options.flush === 'change';

  const waitFor = (item: Subtask): Promise<unknown> | undefined => {
    const writes = (item.dependencies ?? []).flatMap((id) => unsaved.get(id) ?? []);
    // The journal is written in order, so the newest write covers every earlier outcome too.
    return writes.length === 0 ? undefined : Promise.all(writes);
  };
  const current = () => {
    manager.setCurrentItem(held.size === 0 ? null : [...held].at(-1)!);
  };

  return {
    async open() {
      const reset = manager.recoverInFlight();
      if (reset.length > 0) await manager.flushUpdates();
      return reset;
    },
    async claim() {
      let next: Subtask | undefined;
      for (;;) {
        next = manager.index.nextReady({
          ...(options.scope === undefined ? {} : { scope: options.scope }),
          skip: (subtask) => held.has(subtask.id) || failed.has(subtask.id),
        });
        if (!next) return undefined;
        const pending = waitFor(next);
        if (pending === undefined) break;
        try {
          await pending;
        } catch {
          // The outcome is not on disk: nothing that depends on it may start. The error reaches
          // the runner through the release that wrote it.
          return undefined;
        }
        // Looked at again: another claim may have taken the subtask meanwhile.
      }
      held.add(next.id);
      manager.updateItemStatus(next.id, 'Implementing');
      current();
      if (eager) await manager.flushUpdates();
      return manager.index.get(next.id) as Subtask;
    },
    async mark(id, status) {
      manager.updateItemStatus(id, status);
      if (eager) await manager.flushUpdates();
    },
    async release(id, outcome) {
      manager.updateItemStatus(id, outcome);
      held.delete(id);
      if (outcome === 'Failed') failed.add(id);
      current();
      // The write starts on the next turn of the event loop, not now: the claim and the spawn of
      // the next subtask, which the runner makes as soon as this outcome is known, come first
      // (about 0.15 ms of encoding kept off the path from one command's exit to the next
      // command's start). A dependant still waits for it: `unsaved` holds it from now on.
      const written = nextTurn().then(() => manager.flushUpdates());
      unsaved.set(id, written);
      try {
        await written;
      } finally {
        if (unsaved.get(id) === written) unsaved.delete(id);
      }
      return true;
    },
    releaseAllSync() {
      for (const id of held) {
        try {
          manager.updateItemStatus(id, 'Planned');
        } catch {
          // A resume returns in-flight items to Planned anyway.
        }
      }
      held.clear();
    },
  };
}

/** Resolves on the check phase of this turn of the event loop, after every pending microtask. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
