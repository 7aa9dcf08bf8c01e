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
   * `'outcome'`: write the outcomes (the default; in groups, see `groupCommitMs`). `'change'`:
   * also after every status change (a claim, a retry), which costs more writes and loses less of
   * a killed run's state.
   * @default 'outcome'
   */
  flush?: 'outcome' | 'change';
  /**
   * Outcomes are written in groups: one write (one fdatasync) covers every outcome since the last
   * one, and writes start at most once per this many milliseconds. An outcome that comes after a
   * quiet spell is written at once; one that comes sooner waits at most this long. A write starts
   * at once, whatever the window, when a claim needs an outcome not yet written (a dependant
   * never waits for the window), when nothing more is ready, and for a subtask given back to
   * Planned. `0` starts a write for each outcome as soon as the next claim is made. Not used with
   * `flush: 'change'`, which writes every outcome at once.
   *
   * Fast workers gain most: with the default, 200 outcomes a second cost at most 50 writes
   * instead of 200, and the processor time saved goes to the workers. The cost: a `kill -9` or a
   * power cut may lose outcomes up to this old, and those subtasks run again (none that a
   * dependant started on).
   * @default 20
   */
  groupCommitMs?: number;
}

/** The default of {@link SessionSourceOptions.groupCommitMs}. */
export const GROUP_COMMIT_MS = 20;

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
  const given = options.groupCommitMs;
  if (given !== undefined && (!Number.isSafeInteger(given) || given < 0)) {
    throw new TypeError(
      `createSessionSource expected groupCommitMs to be a whole number of 0 or more, got ${String(given)}`,
    );
  }
  // Writing after every change includes writing every outcome at once.
  const windowMs = eager ? 0 : (given ?? GROUP_COMMIT_MS);
  /** When the last write of outcomes started (`performance.now()`). */
  let lastWrite = Number.NEGATIVE_INFINITY;
  /** The next write of outcomes, waiting for its window; `now()` starts it at once. */
  let waiting: { written: Promise<void>; now: () => void } | undefined;

  /** The write that will cover every status changed so far. */
  const groupWrite = (): Promise<void> => {
    if (waiting) return waiting.written;
    let start!: () => void;
    const started = new Promise<void>((resolve) => {
      start = resolve;
    });
    const written = started.then(() => {
      waiting = undefined;
      lastWrite = performance.now();
      return manager.flushUpdates();
    });
    const wait = lastWrite + windowMs - performance.now();
    // Even with no wait, the write starts on the next turn of the event loop, not now: the claim
    // and the spawn of the next subtask, which the runner makes as soon as this outcome is known,
    // come first (about 0.15 ms of encoding kept off the path from one command's exit to the next
    // command's start).
    const timer = wait > 0 ? setTimeout(start, wait) : undefined;
    const immediate = wait > 0 ? undefined : setImmediate(start);
    waiting = {
      written,
      now() {
        clearTimeout(timer);
        clearImmediate(immediate);
        start();
      },
    };
    return written;
  };
  /** Starts the waiting write now, if there is one. */
  const writeNow = () => waiting?.now();

  const waitFor = (item: Subtask): Promise<unknown> | undefined => {
    const writes = (item.dependencies ?? []).flatMap((id) => unsaved.get(id) ?? []);
    if (writes.length === 0) return undefined;
    // A dependant does not wait for the window. The journal is written in order, so the newest
    // write covers every earlier outcome too.
    writeNow();
    return Promise.all(writes);
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
      let ready: Subtask | undefined;
      for (;;) {
        ready = manager.index.nextReady({
          ...(options.scope === undefined ? {} : { scope: options.scope }),
          skip: (subtask) => held.has(subtask.id) || failed.has(subtask.id),
        });
        if (!ready) {
          // Nothing more to start meanwhile: the outcomes waiting for their window go now.
          writeNow();
          return undefined;
        }
        const pending = waitFor(ready);
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
      held.add(ready.id);
      manager.updateItemStatus(ready.id, 'Implementing');
      current();
      if (eager) await manager.flushUpdates();
      return manager.index.get(ready.id) as Subtask;
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
      // A dependant waits for this write: `unsaved` holds it from now on.
      const written = groupWrite();
      // Work given back (an interrupted run) is saved at once.
      if (outcome === 'Planned') writeNow();
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
