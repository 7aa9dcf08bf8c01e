import type { Subtask } from '@savepoint/task-schema';
import type { PostgresClaim, PostgresClaims } from './claims.ts';
import { MAX_TIMER_MS } from './internal/timers.ts';

/** Options of {@link createWorkSource}. */
export interface WorkSourceOptions {
  /** This process's worker id prefix; each claim gets `<workerId>`. Non-empty. */
  readonly workerId: string;
  /**
   * The lease of each claim, renewed every third of it (at least every 24.8 days, the longest a
   * Node timer holds) while the subtask runs.
   * @default 30000
   */
  readonly leaseMs?: number;
  /** Only subtasks under this item id. */
  readonly scope?: string;
  /** Stops waiting for work: `claim()` then resolves `undefined`. */
  readonly signal?: AbortSignal;
  /**
   * Called once when a heartbeat finds a held subtask's lease lost (expired and perhaps taken by
   * another worker): stop working on it, its outcome will not be recorded.
   */
  readonly onLost?: (id: string) => void;
}

/** The outcome a runner records for a subtask it held. */
export type WorkOutcome = 'Complete' | 'Failed' | 'Planned';

/**
 * A source of work over a shared session, in the shape of `@savepoint/runner`'s `WorkSource`:
 * `claim` takes the next ready subtask under a lease (renewed on a timer while it is held),
 * waiting while other workers still hold subtasks that may unblock more, and resolves
 * `undefined` only when nothing in scope can become ready any more (nothing ready, nothing held
 * by anyone, no retry pending) or the signal fired. `release` records the outcome fenced by the
 * lease and resolves `false` when the lease was lost (the subtask runs again elsewhere).
 */
export interface ClaimsWorkSource {
  /** Gives expired leases of the session back; returns the ids given back. */
  open(): Promise<string[]>;
  /** The next ready subtask, now held and Implementing; `undefined` when the work is over. */
  claim(): Promise<Subtask | undefined>;
  /** Keeps the lease of a held subtask between attempts (the status stays in flight). */
  mark(id: string, status: 'Implementing' | 'Retrying'): Promise<void>;
  /** Records the outcome; `false` when the lease was lost and nothing was recorded. */
  release(id: string, outcome: WorkOutcome): Promise<boolean>;
  /** Gives every subtask this source holds back at once, synchronously (a process about to exit). */
  releaseAllSync(): void;
  /** Gives every subtask this source holds back at once. */
  releaseAll(): Promise<void>;
}

/**
 * Creates a {@link ClaimsWorkSource} over a session's claims (from `store.join(id)` or an open
 * handle's `claims`).
 *
 * @throws TypeError for a missing worker id or a lease that is not a positive number
 */
export function createWorkSource(
  claims: PostgresClaims,
  options: WorkSourceOptions,
): ClaimsWorkSource {
  if (typeof options?.workerId !== 'string' || options.workerId === '') {
    throw new TypeError(
      `createWorkSource expected options.workerId, a non-empty string, got ${String(options?.workerId)}`,
    );
  }
  const leaseMs = options.leaseMs ?? 30_000;
  if (!Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new TypeError(`options.leaseMs must be a positive number, got ${String(leaseMs)}`);
  }
  if (options.onLost !== undefined && typeof options.onLost !== 'function') {
    throw new TypeError('options.onLost must be a function');
  }
  // Every third of the lease, but no longer than a timer holds.
  const heartbeatMs = Math.min(leaseMs / 3, MAX_TIMER_MS);
  const held = new Map<string, { claim: PostgresClaim; timer: NodeJS.Timeout }>();
  const lost = new Set<string>();
  const { signal, scope } = options;

  const hold = (claim: PostgresClaim): void => {
    const entry = {
      claim,
      timer: setInterval(async () => {
        const renewed = await claims.renew(entry.claim, leaseMs).catch(() => undefined);
        if (renewed === null) {
          // Lost for good: the outcome will be refused; stop renewing.
          lost.add(claim.itemId);
          clearInterval(entry.timer);
          options.onLost?.(claim.itemId);
        } else if (renewed) {
          entry.claim = { ...entry.claim, expiresAt: renewed.expiresAt };
        }
      }, heartbeatMs),
    };
    entry.timer.unref();
    held.set(claim.itemId, entry);
  };
  const drop = (id: string) => {
    const entry = held.get(id);
    if (entry) clearInterval(entry.timer);
    held.delete(id);
    lost.delete(id);
    return entry;
  };

  return {
    open: () => claims.releaseExpired(),

    async claim() {
      while (!signal?.aborted) {
        const claim = await claims.claimNext({
          workerId: options.workerId,
          leaseMs,
          ...(scope === undefined ? {} : { scope }),
        });
        if (claim) {
          hold(claim);
          return claim.item;
        }
        if (!(await mayBecomeReady(claims, scope))) {
          // Nothing in flight: an outcome recorded just before the count may have made a
          // subtask ready, so look once more; after that nothing can change but from outside.
          const last = await claims.claimNext({
            workerId: options.workerId,
            leaseMs,
            ...(scope === undefined ? {} : { scope }),
          });
          if (!last) return undefined;
          hold(last);
          return last.item;
        }
        await claims.waitForWork(signal ? { signal } : {});
      }
      return undefined;
    },

    async mark(id) {
      const entry = held.get(id);
      if (!entry) throw new TypeError(`mark: subtask ${id} is not held by this source`);
      const renewed = await claims.renew(entry.claim, leaseMs);
      if (renewed === null) {
        if (!lost.has(id)) options.onLost?.(id);
        lost.add(id);
      } else entry.claim = { ...entry.claim, expiresAt: renewed.expiresAt };
    },

    async release(id, outcome) {
      const entry = drop(id);
      if (!entry) throw new TypeError(`release: subtask ${id} is not held by this source`);
      if (outcome === 'Planned') return claims.abandon(entry.claim);
      const result = await claims.record(entry.claim, { status: outcome });
      return result.recorded;
    },

    releaseAllSync() {
      if (held.size === 0) return;
      for (const id of [...held.keys()]) drop(id);
      claims.releaseAllSync([options.workerId]);
    },

    async releaseAll() {
      if (held.size === 0) return;
      for (const id of [...held.keys()]) drop(id);
      await claims.releaseAll([options.workerId]);
    },
  };
}

/**
 * Whether waiting can still bring work: some subtask in scope is held by a worker (its outcome
 * may unblock others) or waits for a retry. Planned subtasks behind a Failed one, with nothing in
 * flight, will never become ready.
 */
async function mayBecomeReady(claims: PostgresClaims, scope: string | undefined): Promise<boolean> {
  const counts = await claims.countByStatus(scope);
  return counts.Implementing + counts.Researching + counts.Retrying > 0;
}
