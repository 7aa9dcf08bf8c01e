import type {
  Claim,
  ClaimOptions,
  ClaimOutcome,
  RecordResult,
  SessionClaims,
} from '@savepoint/session';
import { STATUSES, type Status, type Subtask } from '@savepoint/task-schema';
import type pg from 'pg';
import type { Listener, WaitForWorkOptions, WakeReason } from './internal/listener.ts';
import type { SyncStatement } from './internal/sync-query.ts';

/** A lease on one subtask, as {@link PostgresClaims.claimNext} hands it out. */
export interface PostgresClaim extends Claim {
  /** 1 for the first claim of the subtask, +1 for every claim after it (retries, expiries). */
  readonly attempt: number;
  /** The subtask as stored (every key, unknown ones too), with its status now `Implementing`. */
  readonly item: Subtask;
}

/** The outcome of a claimed subtask, with an optional backoff for `Retrying`. */
export interface PostgresClaimOutcome extends ClaimOutcome {
  /**
   * With status `Retrying`: how long the subtask waits before it is ready again, in
   * milliseconds (on the database clock). Default 0.
   */
  readonly retryDelayMs?: number;
}

/**
 * The claims of one session of the PostgreSQL store: the contract's {@link SessionClaims} plus a
 * clean release of a worker's leases and a wait for work.
 *
 * Ready means: a subtask that is Planned (or Retrying past its backoff, or left in flight with no
 * lease by a run that stopped) whose every dependency is done (Complete or Obsolete; a
 * dependency on a phase, milestone or task is done when every subtask under it is), first in
 * depth-first order, within `scope`. Each claim, outcome, expiry and release is one event.
 */
export interface PostgresClaims extends SessionClaims {
  /**
   * Claims the next ready subtask with ONE statement (`UPDATE ... WHERE id = (SELECT ... FOR
   * UPDATE SKIP LOCKED) RETURNING`), so two workers never get the same subtask. The statement
   * also locks the subtask's task, milestone and phase rows (top down, as an outcome's roll-up
   * does) and sets those not Implementing to Implementing: a roll-up in flight under them is
   * waited for, so a lease given back at that moment cannot leave them Planned. Expired leases
   * of the session are given back first (at most once a poll interval).
   *
   * @returns the claim, or `null` when nothing is ready now
   * @throws TypeError for a missing worker id or a lease that is not a positive number
   */
  claimNext(options: ClaimOptions): Promise<PostgresClaim | null>;
  /** Records the outcome, fenced by the lease (see {@link SessionClaims.record}). */
  record(claim: Claim, outcome: PostgresClaimOutcome): Promise<RecordResult>;
  /** Gives one lease back at once (its subtask returns to Planned); `false` when already lost. */
  abandon(claim: Claim): Promise<boolean>;
  /**
   * Gives back every lease held by the named workers (default: every worker that claimed through
   * this object), for a clean shutdown: their subtasks are ready again at once.
   *
   * @returns the ids of the subtasks given back
   */
  releaseAll(workerIds?: readonly string[]): Promise<string[]>;
  /** {@link PostgresClaims.releaseAll}, synchronously, for the last moments of a process. */
  releaseAllSync(workerIds?: readonly string[]): string[];
  /**
   * Waits until work may be ready: a notification (a subtask became ready, a lease was given
   * back) that arrived since the last `claimNext` began, the poll interval passing, or the
   * signal. Then claim again.
   */
  waitForWork(options?: WaitForWorkOptions): Promise<WakeReason>;
  /**
   * How many subtasks of the session (under `scope`, when given) have each status now; every
   * status is a key.
   */
  countByStatus(scope?: string): Promise<Record<Status, number>>;
}

/** What the claims of one session need from the store. */
export interface ClaimsContext {
  readonly session: string;
  readonly q: string;
  readonly pollIntervalMs: number;
  readonly query: <R extends pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ) => Promise<pg.QueryResult<R>>;
  readonly listener: Listener;
  readonly syncQuery: (statements: readonly SyncStatement[]) => Record<string, unknown>[];
  readonly errorOf: (what: string, error: unknown) => Error;
}

/** The claim statement; `q` is the quoted schema. Exported for the benchmark's hand-written loop. */
export function claimSql(q: string): string {
  return `
WITH picked AS (
  SELECT i.id, i.status
    FROM ${q}.items i
   WHERE i.session_id = $1 AND i.level = 3 AND i.lease_owner IS NULL
     AND i.status IN ('Planned', 'Retrying', 'Researching', 'Implementing')
     AND (i.status <> 'Retrying' OR i.retry_at IS NULL OR i.retry_at <= now())
     AND ($4::text IS NULL OR EXISTS (
           SELECT 1 FROM ${q}.items s
            WHERE s.session_id = $1 AND s.id = $4
              AND i.position >= s.position AND i.position < s.subtree_end))
     AND NOT (i.id = ANY ($5::text[]))
     AND NOT EXISTS (
           SELECT 1 FROM unnest(i.dependencies) AS d(dep)
            WHERE NOT EXISTS (
              SELECT 1 FROM ${q}.items t
               WHERE t.session_id = $1 AND t.id = d.dep
                 AND NOT EXISTS (
                   SELECT 1 FROM ${q}.items u
                    WHERE u.session_id = $1 AND u.level = 3
                      AND u.position >= t.position AND u.position < t.subtree_end
                      AND u.status NOT IN ('Complete', 'Obsolete'))))
   ORDER BY i.position
   LIMIT 1
   FOR UPDATE SKIP LOCKED
),
claimed AS (
  UPDATE ${q}.items c
     SET status = 'Implementing', lease_owner = $2, lease_token = gen_random_uuid(),
         lease_expires_at = now() + $3 * interval '1 millisecond',
         attempt = c.attempt + 1, retry_at = NULL, claimed_change = true
    FROM picked
   WHERE c.session_id = $1 AND c.id = picked.id
  RETURNING c.id, c.path, c.attempt, c.lease_token, c.lease_expires_at, c.raw::text AS raw
),
-- Every ancestor is locked, not only those the snapshot shows as not Implementing: a roll-up
-- in flight (a lease given back) may be setting one to Planned; once it commits, the locked row
-- is read as it left it.
ancestors AS (
  SELECT a.id, a.status AS from_status, a.position
    FROM ${q}.items a, claimed
   WHERE a.session_id = $1 AND a.id = ANY (claimed.path)
   ORDER BY a.position
     FOR UPDATE OF a
),
rolled AS (
  UPDATE ${q}.items a SET status = 'Implementing'
    FROM ancestors
   WHERE a.session_id = $1 AND a.id = ancestors.id AND ancestors.from_status <> 'Implementing'
  RETURNING a.id
),
event AS (
  INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status, worker_id, attempt)
  SELECT $1, claimed.id, 'claim', picked.status, 'Implementing', $2, claimed.attempt
    FROM claimed JOIN picked USING (id)
  UNION ALL
  SELECT * FROM (
    SELECT $1, ancestors.id, 'rollup', ancestors.from_status, 'Implementing', $2, claimed.attempt
      FROM ancestors JOIN rolled USING (id), claimed
     ORDER BY ancestors.position DESC) AS up
),
detached AS (
  UPDATE ${q}.sessions SET snapshot_current = false
   WHERE id = $1 AND snapshot_current AND EXISTS (SELECT 1 FROM claimed)
)
SELECT id, attempt, lease_token::text AS token, lease_expires_at AS expires_at, raw,
       (SELECT count(*) FROM rolled) AS rolled
  FROM claimed`;
}

/** The heartbeat statement: extends an unexpired lease. */
export function renewSql(q: string): string {
  return `UPDATE ${q}.items
     SET lease_expires_at = now() + $4 * interval '1 millisecond'
   WHERE session_id = $1 AND id = $2 AND lease_token = $3::uuid AND lease_expires_at > now()
  RETURNING lease_expires_at AS expires_at`;
}

/** The outcome statement (a function call doing the fenced update, roll-up, event and NOTIFY). */
export function recordSql(q: string): string {
  return `SELECT ${q}.record_outcome($1, $2, $3::uuid, $4, $5) AS recorded`;
}

const OUTCOMES = new Set<Status>(['Complete', 'Failed', 'Obsolete', 'Planned', 'Retrying']);
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Creates the claims of one session. Used by the store's handles. */
export function createClaims(context: ClaimsContext): PostgresClaims {
  const { session, q, listener } = context;
  const workers = new Set<string>();
  const reapEveryMs = Math.min(context.pollIntervalMs, 1000);
  let lastReap = Number.NEGATIVE_INFINITY;
  let mark = 0;

  const run = async <R extends pg.QueryResultRow>(
    what: string,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> => {
    try {
      return await context.query<R>(text, values);
    } catch (error) {
      throw context.errorOf(what, error);
    }
  };

  const giveBack = async (kind: string, workerIds: string[] | null, token: string | null) => {
    const { rows } = await run<{ id: string }>(
      `give back (${kind})`,
      `SELECT id FROM ${q}.give_back($1, $2, $3::text[], $4::uuid) AS id`,
      [session, kind, workerIds, token],
    );
    return rows.map((row) => row.id);
  };

  const claims: PostgresClaims = {
    async claimNext(options) {
      checkClaimOptions(options);
      // Listening before the claim: a notification during it wakes the next wait.
      await listener.ensure();
      mark = listener.count(session);
      if (performance.now() - lastReap >= reapEveryMs) {
        lastReap = performance.now();
        await giveBack('expire', null, null);
      }
      workers.add(options.workerId);
      const { rows } = await run<{
        id: string;
        attempt: number;
        token: string;
        expires_at: Date;
        raw: string;
      }>('claim', claimSql(q), [
        session,
        options.workerId,
        options.leaseMs,
        options.scope ?? null,
        options.skip ?? [],
      ]);
      const row = rows[0];
      if (!row) return null;
      const item = JSON.parse(row.raw) as Subtask;
      item.status = 'Implementing';
      return {
        itemId: row.id,
        workerId: options.workerId,
        token: row.token,
        expiresAt: row.expires_at,
        attempt: row.attempt,
        item,
      };
    },

    async renew(claim, leaseMs) {
      checkClaim(claim, 'renew');
      checkLease(leaseMs, 'renew: leaseMs');
      const { rows } = await run<{ expires_at: Date }>('renew', renewSql(q), [
        session,
        claim.itemId,
        claim.token,
        leaseMs,
      ]);
      if (!rows[0]) return null;
      return { ...claim, expiresAt: rows[0].expires_at };
    },

    async record(claim, outcome) {
      checkClaim(claim, 'record');
      if (typeof outcome !== 'object' || outcome === null || !OUTCOMES.has(outcome.status)) {
        throw new TypeError(
          `record expected an outcome { status: Complete, Failed, Obsolete, Planned or Retrying }, got ${JSON.stringify(outcome)}`,
        );
      }
      const delay = outcome.retryDelayMs;
      if (delay !== undefined && (!Number.isFinite(delay) || delay < 0)) {
        throw new TypeError(`outcome.retryDelayMs must be a number >= 0, got ${String(delay)}`);
      }
      const { rows } = await run<{ recorded: boolean }>('record', recordSql(q), [
        session,
        claim.itemId,
        claim.token,
        outcome.status,
        outcome.status === 'Retrying' ? (delay ?? 0) : null,
      ]);
      return rows[0]?.recorded ? { recorded: true } : { recorded: false, reason: 'lease-lost' };
    },

    async abandon(claim) {
      checkClaim(claim, 'abandon');
      const ids = await giveBack('abandon', null, claim.token);
      return ids.length > 0;
    },

    releaseExpired() {
      lastReap = performance.now();
      return giveBack('expire', null, null);
    },

    async releaseAll(workerIds) {
      const ids = workerIds ? [...workerIds] : [...workers];
      if (ids.length === 0) return [];
      return giveBack('release', ids, null);
    },

    releaseAllSync(workerIds) {
      const ids = workerIds ? [...workerIds] : [...workers];
      if (ids.length === 0) return [];
      try {
        const rows = context.syncQuery([
          {
            text: `SELECT id FROM ${q}.give_back($1, 'release', $2::text[], NULL) AS id`,
            values: [session, ids],
          },
        ]);
        return rows.map((row) => String(row.id));
      } catch (error) {
        throw context.errorOf('give back (release)', error);
      }
    },

    async countByStatus(scope) {
      if (scope !== undefined && typeof scope !== 'string') {
        throw new TypeError(`countByStatus: scope must be an item id string, got ${typeof scope}`);
      }
      const { rows } = await run<{ status: Status; count: string }>(
        'count',
        `SELECT i.status, count(*) AS count FROM ${q}.items i
          WHERE i.session_id = $1 AND i.level = 3
            AND ($2::text IS NULL OR EXISTS (
                  SELECT 1 FROM ${q}.items s
                   WHERE s.session_id = $1 AND s.id = $2
                     AND i.position >= s.position AND i.position < s.subtree_end))
          GROUP BY i.status`,
        [session, scope ?? null],
      );
      const counts = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<
        Status,
        number
      >;
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },

    waitForWork(options = {}) {
      return listener.wait(session, {
        timeoutMs: context.pollIntervalMs,
        since: mark,
        ...options,
      });
    },
  };
  return claims;
}

function checkClaimOptions(options: ClaimOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`claimNext expected { workerId, leaseMs }, got ${String(options)}`);
  }
  if (typeof options.workerId !== 'string' || options.workerId === '') {
    throw new TypeError(
      `claimNext: workerId must be a non-empty string, got ${JSON.stringify(options.workerId)}`,
    );
  }
  checkLease(options.leaseMs, 'claimNext: leaseMs');
  if (options.scope !== undefined && typeof options.scope !== 'string') {
    throw new TypeError(`claimNext: scope must be an item id string, got ${typeof options.scope}`);
  }
  if (
    options.skip !== undefined &&
    (!Array.isArray(options.skip) || options.skip.some((id) => typeof id !== 'string'))
  ) {
    throw new TypeError('claimNext: skip must be an array of item ids');
  }
}

function checkLease(leaseMs: number, what: string): void {
  if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw new TypeError(
      `${what} must be a positive number of milliseconds, got ${String(leaseMs)}`,
    );
  }
}

function checkClaim(claim: Claim, what: string): void {
  if (
    typeof claim !== 'object' ||
    claim === null ||
    typeof claim.itemId !== 'string' ||
    typeof claim.token !== 'string' ||
    !TOKEN.test(claim.token)
  ) {
    throw new TypeError(
      `${what} expected a claim returned by claimNext, got ${JSON.stringify(claim)}`,
    );
  }
}
