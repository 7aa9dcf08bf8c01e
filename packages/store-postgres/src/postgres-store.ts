import {
  type ChangeBatch,
  type CreateSessionResult,
  formatSessionName,
  isArtifactName,
  type LoadedSession,
  parseSessionName,
  type SessionDraft,
  SessionError,
  type SessionHandle,
  type SessionListing,
  type SessionRef,
  type SessionStore,
  type SessionSummary,
  type SnapshotInput,
  type StoreWaitOptions,
} from '@savepoint/session';
import { type Backlog, parseBacklog, STATUSES, serializeBacklog } from '@savepoint/task-schema';
import type pg from 'pg';
import { backlogToRows, type ItemRow, rowsToBacklog } from './backlog-rows.ts';
import { createClaims, type PostgresClaims } from './claims.ts';
import { HolderLock } from './internal/holder-lock.ts';
import { Listener, type WaitForWorkOptions, type WakeReason } from './internal/listener.ts';
import { loadPg } from './internal/load-pg.ts';
import { channelName, isTransient, quoteIdent } from './internal/sql.ts';
import { runSync, type SyncStatement } from './internal/sync-query.ts';
import { type MigrationResult, migrate } from './migrate.ts';

/** Options of {@link createPostgresStore}. Give `connectionString` or `pool`. */
export interface PostgresStoreOptions {
  /** A `postgres://` URL; the store makes (and on `close()` ends) its own pool. */
  readonly connectionString?: string;
  /** A pool the caller owns (not ended by `close()`). */
  readonly pool?: pg.Pool;
  /**
   * The schema holding the store's tables; several independent stores can share a database.
   * @default 'savepoint'
   */
  readonly schema?: string;
  /**
   * How often an idle worker looks for work even without a notification, in milliseconds: a lost
   * notification delays work by at most this much.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * Connections of the pool the store makes.
   * @default 10
   */
  readonly maxConnections?: number;
}

/** One status change of a subtask, as kept in the `events` table. */
export interface SessionEvent {
  /** Increasing with time within the database. */
  readonly id: number;
  /** The subtask (or, for `change`, `snapshot` and `rollup`, any item) that changed. */
  readonly itemId: string;
  /**
   * What changed it: `claim` (a worker took it), `record` (the worker's outcome), `expire` (its
   * lease ran out), `release` (its worker shut down), `abandon` (its worker gave it back),
   * `change` (a change batch of the session's holder), `snapshot` (a compaction), `rollup` (a
   * phase, milestone or task whose status followed from a claim, an outcome or a lease given
   * back: the worker and attempt are that change's).
   */
  readonly kind: string;
  /** The status before, when there was one. */
  readonly from: string | null;
  /** The status after. */
  readonly to: string;
  /** The worker, for claims and their outcomes. */
  readonly workerId: string | null;
  /** The attempt (1 for the first claim of the item), for claims and their outcomes. */
  readonly attempt: number | null;
  /** When, on the database's clock. */
  readonly at: Date;
}

/** An open session of the PostgreSQL store: always with claims. */
export interface PostgresSessionHandle extends SessionHandle {
  /** Claims for the workers sharing this session. */
  readonly claims: PostgresClaims;
}

/**
 * The session store on PostgreSQL (see {@link createPostgresStore}). Several processes on several
 * machines can open the same session at once and share its subtasks through claims.
 */
export interface PostgresStore extends SessionStore {
  /** The schema holding the tables. */
  readonly schema: string;
  /**
   * Opens a session for this process, its holder (the process that appends change batches and
   * compacts, such as `savepoint run`). One holder at a time: a second opener gets `LOCKED`. The
   * hold ends with the holder's connection, so a killed holder's session opens again at once.
   */
  open(ref: SessionRef, options?: StoreWaitOptions): Promise<PostgresSessionHandle>;
  /**
   * Joins a session as workers, without holding it: the claims of the session. Any number of
   * processes on any number of machines can join one session.
   *
   * @throws SessionError `NOT_FOUND`, `IO`
   */
  join(ref: SessionRef): Promise<PostgresClaims>;
  /**
   * The session's `tasks.json` as it is now (every claim, outcome and change batch applied),
   * rebuilt from its rows: canonical 2-space JSON with each item's keys in their original order.
   *
   * @throws SessionError `NOT_FOUND`, `IO`
   */
  exportTasks(ref: SessionRef): Promise<string>;
  /**
   * The text of a session's artifact (`run.json`, `ERROR_REPORT.md`, ...), read without holding
   * the session; `null` when it has none of that name.
   *
   * @throws SessionError `NOT_FOUND`, `IO`
   * @throws TypeError for a name that is not an artifact name
   */
  readArtifact(ref: SessionRef, name: string): Promise<string | null>;
  /**
   * The status history of a session, oldest first; of one item with `itemId`.
   *
   * @throws SessionError `NOT_FOUND`, `IO`
   */
  events(ref: SessionRef, options?: { readonly itemId?: string }): Promise<SessionEvent[]>;
  /**
   * Waits until the session may have new work: a notification that a subtask became ready or a
   * lease was given back, the poll interval passing, or `signal` aborting.
   */
  waitForWork(ref: SessionRef, options?: WaitForWorkOptions): Promise<WakeReason>;
  /** Creates or upgrades the tables (done on first use anyway). */
  migrate(): Promise<MigrationResult>;
  /**
   * Gives up the sessions still open through this store, ends the listener and, when the store
   * made it, the pool. Idempotent.
   */
  close(): Promise<void>;
}

const DEFAULT_SCHEMA = 'savepoint';
/** How often a statement rolled back as a deadlock victim (or serialization failure) is tried. */
const TRANSIENT_ATTEMPTS = 5;
const SESSION_ID = /^\d{3,}_[0-9a-f]{12}$/;

/**
 * Creates the PostgreSQL session store. Its tables are created on first use (see
 * {@link migrate}).
 *
 * @example
 * ```ts
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * const handle = await store.open('001_14b9dc2a33c7');
 * const claim = await handle.claims.claimNext({ workerId: 'host-a/1', leaseMs: 30_000 });
 * if (claim) await handle.claims.record(claim, { status: 'Complete' });
 * await handle.release();
 * await store.close();
 * ```
 *
 * @throws TypeError when neither `connectionString` nor `pool` is given, or an option is malformed
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createPostgresStore expected an options object, got ${String(options)}`);
  }
  const { connectionString, pool: givenPool } = options;
  if ((connectionString === undefined) === (givenPool === undefined)) {
    throw new TypeError(
      'createPostgresStore expected exactly one of options.connectionString and options.pool',
    );
  }
  if (connectionString !== undefined && typeof connectionString !== 'string') {
    throw new TypeError(
      `options.connectionString must be a postgres:// URL string, got ${typeof connectionString}`,
    );
  }
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new TypeError(
      `options.schema must be an SQL identifier (letters, digits, _), got ${String(schema)}`,
    );
  }
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs <= 0) {
    throw new TypeError(
      `options.pollIntervalMs must be a positive number, got ${String(pollIntervalMs)}`,
    );
  }
  const ownsPool = givenPool === undefined;
  const pool =
    givenPool ?? new (loadPg().Pool)({ connectionString, max: options.maxConnections ?? 10 });
  // An idle client whose server went away emits on the pool; the next query reports it.
  if (ownsPool) pool.on('error', () => {});
  return new Store(pool, ownsPool, schema, pollIntervalMs);
}

class Store implements PostgresStore {
  readonly schema: string;
  readonly location: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #q: string;
  readonly #listener: Listener;
  readonly #pollIntervalMs: number;
  #migrated: Promise<MigrationResult> | undefined;
  #closed = false;
  readonly #locks = new Set<HolderLock>();

  constructor(pool: pg.Pool, ownsPool: boolean, schema: string, pollIntervalMs: number) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.schema = schema;
    this.#q = quoteIdent(schema);
    this.#pollIntervalMs = pollIntervalMs;
    this.location = `${describeTarget(pool)} schema ${schema}`;
    this.#listener = new Listener(() => connectionConfig(pool), channelName(schema));
  }

  migrate(): Promise<MigrationResult> {
    if (this.#migrated === undefined) {
      this.#migrated = migrate(this.#pool, this.schema);
      this.#migrated.catch(() => {
        this.#migrated = undefined;
      });
    }
    return this.#migrated;
  }

  async list(): Promise<SessionListing> {
    const { rows } = await this.#query<SummaryRow>(
      `SELECT id, sequence, hash, created_at FROM ${this.#q}.sessions ORDER BY sequence`,
    );
    return { sessions: rows.map((row) => this.#summary(row)), incomplete: [] };
  }

  async create(draft: SessionDraft, options: StoreWaitOptions = {}): Promise<CreateSessionResult> {
    checkDraft(draft);
    throwIfAborted(options.signal);
    const backlog = parseTasks(draft.tasksText, 'the draft');
    const rows = backlogToRows(backlog);
    const prd =
      typeof draft.prdSnapshot === 'string'
        ? Buffer.from(draft.prdSnapshot, 'utf8')
        : Buffer.from(draft.prdSnapshot);
    const { token, holder } = HolderLock.describe();
    let lock: HolderLock | undefined;
    const created = await this.#transaction(async (client) => {
      // One creator at a time per schema: the sequence number and the hash check cannot race.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `savepoint:create:${this.schema}`,
      ]);
      const existing = await client.query<SummaryRow>(
        `SELECT id, sequence, hash, created_at FROM ${this.#q}.sessions
          WHERE hash = $1 ORDER BY sequence DESC LIMIT 1`,
        [draft.hash],
      );
      const found = existing.rows[0];
      if (found) return { exists: found } as const;
      if (draft.parentSession !== null) {
        const parent = await client.query(`SELECT 1 FROM ${this.#q}.sessions WHERE id = $1`, [
          draft.parentSession,
        ]);
        if (parent.rowCount === 0) {
          throw new SessionError(
            'NOT_FOUND',
            `parent session ${draft.parentSession} does not exist in ${this.location}`,
            { id: draft.parentSession },
          );
        }
      }
      const next = await client.query<{ sequence: number }>(
        `SELECT coalesce(max(sequence), 0) + 1 AS sequence FROM ${this.#q}.sessions`,
      );
      const sequence = next.rows[0]!.sequence;
      const id = formatSessionName(sequence, draft.hash);
      // The new session's lock is taken before the row is visible to anyone.
      await lock?.release();
      const taken = await HolderLock.take({
        config: connectionConfig(this.#pool),
        q: this.#q,
        schema: this.schema,
        session: id,
        claimRow: false,
        token,
        holder,
      });
      if (!(taken instanceof HolderLock)) {
        throw new SessionError('LOCKED', `session ${id} is locked before it exists`, { id });
      }
      lock = taken;
      const inserted = await client.query<SummaryRow>(
        `INSERT INTO ${this.#q}.sessions
           (id, sequence, hash, prd_snapshot, parent_session, document, snapshot_text,
            holder, holder_token)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9)
         RETURNING id, sequence, hash, created_at`,
        [
          id,
          sequence,
          draft.hash,
          prd,
          draft.parentSession,
          rows.document,
          draft.tasksText,
          JSON.stringify(holder),
          token,
        ],
      );
      await insertItems(client, this.#q, id, rows.items);
      await client.query('SELECT pg_notify($1, $2)', [channelName(this.schema), id]);
      return { created: inserted.rows[0]! } as const;
    }).catch(async (error: unknown) => {
      await lock?.release();
      throw error;
    });
    if (rows.items.length >= 1000) {
      // Fresh statistics, so the claim statement's plan fits the new rows at once instead of
      // after autovacuum's next visit.
      await this.#query(`ANALYZE ${this.#q}.items`);
    }
    if ('exists' in created) {
      await lock?.release();
      return { status: 'exists', session: this.#summary(created.exists!) };
    }
    const session = this.#summary(created.created!);
    return { status: 'created', session, handle: this.#handle(session, lock!) };
  }

  async open(ref: SessionRef, options: StoreWaitOptions = {}): Promise<PostgresSessionHandle> {
    throwIfAborted(options.signal);
    const id = this.#resolve(ref);
    const { rows } = await this.#query<SummaryRow>(
      `SELECT id, sequence, hash, created_at FROM ${this.#q}.sessions WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw this.#notFound(id);
    let taken: Awaited<ReturnType<typeof HolderLock.take>>;
    try {
      taken = await HolderLock.take({
        config: connectionConfig(this.#pool),
        q: this.#q,
        schema: this.schema,
        session: id,
        claimRow: true,
      });
    } catch (error) {
      throw ioError('open', error, id);
    }
    if (!(taken instanceof HolderLock)) {
      const who = taken.held;
      throw new SessionError(
        'LOCKED',
        `session ${id} is held by ${who ? `pid ${who.pid} on ${who.hostname ?? 'an unknown host'}` : 'another process'}`,
        { id, ...(who ? { holder: who } : {}) },
      );
    }
    return this.#handle(this.#summary(rows[0]), taken);
  }

  async join(ref: SessionRef): Promise<PostgresClaims> {
    const id = this.#resolve(ref);
    await this.#requireSession(id);
    return this.#claims(id);
  }

  #claims(id: string): PostgresClaims {
    return createClaims({
      session: id,
      q: this.#q,
      pollIntervalMs: this.#pollIntervalMs,
      query: (text, values) => this.#query(text, values),
      listener: this.#listener,
      syncQuery: (statements) => this.#sync(statements),
      errorOf: (what, error) => ioError(what, error, id),
    });
  }

  async read(ref: SessionRef): Promise<LoadedSession> {
    return this.#load(this.#resolve(ref));
  }

  async exportTasks(ref: SessionRef): Promise<string> {
    const id = this.#resolve(ref);
    return this.#transaction(async (client) => {
      // One snapshot for the document and the rows, even while workers record outcomes.
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ document: string; current_item: string | null }>(
        `SELECT document::text AS document, current_item FROM ${this.#q}.sessions WHERE id = $1`,
        [id],
      );
      if (!rows[0]) throw this.#notFound(id);
      const { document, current_item } = rows[0];
      return serializeBacklog(await readBacklog(client, this.#q, id, document, current_item));
    });
  }

  async readArtifact(ref: SessionRef, name: string): Promise<string | null> {
    checkArtifact(name, '');
    const id = this.#resolve(ref);
    await this.#requireSession(id);
    const { rows } = await this.#query<{ body: string }>(
      `SELECT body FROM ${this.#q}.artifacts WHERE session_id = $1 AND name = $2`,
      [id, name],
    );
    return rows[0]?.body ?? null;
  }

  async events(
    ref: SessionRef,
    options: { readonly itemId?: string } = {},
  ): Promise<SessionEvent[]> {
    const id = this.#resolve(ref);
    await this.#requireSession(id);
    const { rows } = await this.#query<{
      id: string;
      item_id: string;
      kind: string;
      from_status: string | null;
      to_status: string;
      worker_id: string | null;
      attempt: number | null;
      at: Date;
    }>(
      `SELECT id, item_id, kind, from_status, to_status, worker_id, attempt, at
         FROM ${this.#q}.events
        WHERE session_id = $1 AND ($2::text IS NULL OR item_id = $2)
        ORDER BY id`,
      [id, options.itemId ?? null],
    );
    return rows.map((row) => ({
      id: Number(row.id),
      itemId: row.item_id,
      kind: row.kind,
      from: row.from_status,
      to: row.to_status,
      workerId: row.worker_id,
      attempt: row.attempt,
      at: row.at,
    }));
  }

  async waitForWork(ref: SessionRef, options: WaitForWorkOptions = {}): Promise<WakeReason> {
    const id = this.#resolve(ref);
    return this.#listener.wait(id, {
      timeoutMs: this.#pollIntervalMs,
      ...options,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Sessions still open are given up: their holds end with the store.
    await Promise.all([...this.#locks].map((lock) => lock.release()));
    await this.#listener.close();
    if (this.#ownsPool) await this.#pool.end();
  }

  // -------------------------------------------------------------------------------------------

  #handle(summary: SessionSummary, lock: HolderLock): PostgresSessionHandle {
    const store = this;
    this.#locks.add(lock);
    const q = this.#q;
    const id = summary.id;
    const token = lock.token;
    let released = false;
    const claims = this.#claims(id);
    const checkOpen = (what: string): void => {
      if (released) {
        throw new SessionError('NO_SESSION', `${what}: session ${id} was released`, { id });
      }
      lock.check();
    };
    return {
      summary,
      holder: lock.holder,
      signal: lock.signal,
      claims,
      load: () => {
        checkOpen('load');
        return store.#load(id, true);
      },
      async append(batch) {
        checkOpen('append');
        checkBatch(batch);
        await store.#transaction((client) =>
          appendBatch(client, q, id, batch, store.schema, token),
        );
      },
      appendSync(batch) {
        checkOpen('appendSync');
        checkBatch(batch);
        store.#syncOrThrow('appendSync', id, appendStatements(q, id, batch, store.schema, token));
      },
      async compact(snapshot) {
        checkOpen('compact');
        const rows = checkSnapshot(snapshot);
        await store.#transaction((client) => compactSession(client, q, id, snapshot, rows, token));
        if (rows.items.length >= 1000) await store.#query(`ANALYZE ${q}.items`);
      },
      compactSync(snapshot) {
        checkOpen('compactSync');
        const rows = checkSnapshot(snapshot);
        store.#syncOrThrow('compactSync', id, compactStatements(q, id, snapshot, rows, token));
      },
      async writeArtifact(name, text) {
        checkOpen('writeArtifact');
        checkArtifact(name, text);
        await store.#query(
          `INSERT INTO ${q}.artifacts (session_id, name, body) VALUES ($1, $2, $3)
           ON CONFLICT (session_id, name) DO UPDATE SET body = EXCLUDED.body, updated_at = now()`,
          [id, name, text],
        );
        if (name === 'run.json') await store.#storeRunConfig(id, text);
        return `${store.location}: ${id}/${name}`;
      },
      async removeArtifact(name) {
        checkOpen('removeArtifact');
        checkArtifact(name, '');
        await store.#query(`DELETE FROM ${q}.artifacts WHERE session_id = $1 AND name = $2`, [
          id,
          name,
        ]);
      },
      async release() {
        if (released) return;
        released = true;
        try {
          // A clean shutdown gives this handle's leases back at once instead of at expiry.
          await claims.releaseAll();
        } finally {
          store.#locks.delete(lock);
          await lock.release();
        }
      },
      releaseSync() {
        if (released) return;
        released = true;
        try {
          claims.releaseAllSync();
        } finally {
          store.#locks.delete(lock);
          lock.releaseSync();
        }
      },
    };
  }

  async #storeRunConfig(id: string, text: string): Promise<void> {
    try {
      JSON.parse(text);
    } catch {
      return; // Kept as an artifact only: run_config holds JSON.
    }
    await this.#query(`UPDATE ${this.#q}.sessions SET run_config = $2::json WHERE id = $1`, [
      id,
      text,
    ]);
  }

  /**
   * Reads a session in one consistent snapshot. For its holder (`informed`), what it now has seen
   * of the workers' changes is marked as known, so its later compactions may overwrite it.
   */
  async #load(id: string, informed = false): Promise<LoadedSession> {
    return this.#transaction(async (client) => {
      await client.query(
        `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ${informed ? '' : ' READ ONLY'}`,
      );
      if (informed) {
        await client.query(
          `UPDATE ${this.#q}.items SET claimed_change = false
            WHERE session_id = $1 AND claimed_change`,
          [id],
        );
      }
      const { rows } = await client.query<
        SummaryRow & {
          prd_snapshot: Buffer;
          parent_session: string | null;
          document: string;
          current_item: string | null;
          snapshot_text: string;
          snapshot_sequence: number;
          batch_sequence: number;
          snapshot_current: boolean;
        }
      >(
        `SELECT id, sequence, hash, created_at, prd_snapshot, parent_session, document::text AS document,
                current_item, snapshot_text, snapshot_sequence, batch_sequence, snapshot_current
           FROM ${this.#q}.sessions WHERE id = $1`,
        [id],
      );
      const row = rows[0];
      if (!row) throw this.#notFound(id);
      const base = {
        summary: this.#summary(row),
        prdSnapshot: row.prd_snapshot.toString('utf8'),
        parentSession: row.parent_session,
        tail: { discardedBytes: 0, validBytes: 0 },
      };
      if (row.snapshot_current) {
        const batches = await client.query<{ body: ChangeBatch }>(
          `SELECT body FROM ${this.#q}.batches WHERE session_id = $1 AND sequence > $2
            ORDER BY sequence`,
          [id, row.snapshot_sequence],
        );
        return {
          ...base,
          snapshotText: row.snapshot_text,
          snapshotSequence: row.snapshot_sequence,
          changes: batches.rows.map((batch) => batch.body),
        };
      }
      // Workers changed items since the snapshot: the rows are the truth.
      const backlog = await readBacklog(client, this.#q, id, row.document, row.current_item);
      return {
        ...base,
        snapshotText: serializeBacklog(backlog),
        snapshotSequence: Math.max(row.batch_sequence, row.snapshot_sequence),
        changes: [],
      };
    });
  }

  #summary(row: SummaryRow): SessionSummary {
    return {
      id: row.id,
      sequence: row.sequence,
      hash: row.hash,
      path: row.id,
      createdAt: row.created_at,
    };
  }

  #resolve(ref: SessionRef): string {
    if (typeof ref !== 'string') {
      throw new TypeError(`expected a session id such as 001_14b9dc2a33c7, got ${typeof ref}`);
    }
    const last = ref.slice(ref.lastIndexOf('/') + 1);
    if (!SESSION_ID.test(last) || parseSessionName(last) === undefined) {
      throw new TypeError(`expected a session id such as 001_14b9dc2a33c7, got ${ref}`);
    }
    return last;
  }

  #notFound(id: string): SessionError {
    return new SessionError('NOT_FOUND', `no session ${id} in ${this.location}`, { id });
  }

  async #requireSession(id: string): Promise<void> {
    const { rowCount } = await this.#query(`SELECT 1 FROM ${this.#q}.sessions WHERE id = $1`, [id]);
    if (rowCount === 0) throw this.#notFound(id);
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new SessionError('IO', `the store (${this.location}) is closed`);
    await this.migrate();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pool.query<R>(text, values as unknown[]);
      } catch (error) {
        // A deadlock victim's or serialization failure's statement was rolled back whole.
        if (isTransient(error) && attempt < TRANSIENT_ATTEMPTS) continue;
        throw ioError('query', error);
      }
    }
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new SessionError('IO', `the store (${this.location}) is closed`);
    await this.migrate();
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw ioError('connect', error);
      }
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        if (isTransient(error) && attempt < TRANSIENT_ATTEMPTS) continue;
        throw ioError('transaction', error);
      } finally {
        client.release();
      }
    }
  }

  #sync(statements: readonly SyncStatement[]): Record<string, unknown>[] {
    return runSync(connectionConfig(this.#pool), statements);
  }

  #syncOrThrow(what: string, id: string, statements: readonly SyncStatement[]): void {
    try {
      this.#sync(statements);
    } catch (error) {
      throw ioError(what, error, id);
    }
  }
}

interface SummaryRow {
  id: string;
  sequence: number;
  hash: string;
  created_at: Date;
}

// ---------------------------------------------------------------------------------------------
// Rows in and out

async function insertItems(
  client: pg.PoolClient,
  q: string,
  session: string,
  items: readonly ItemRow[],
): Promise<void> {
  if (items.length === 0) return;
  await client.query(
    `INSERT INTO ${q}.items
       (session_id, id, parent_id, path, level, position, subtree_end, status, raw, dependencies)
     SELECT $1, r.id, r.parent_id,
            ARRAY(SELECT json_array_elements_text(r.path::json)),
            r.level, r.position, r.subtree_end, r.status, r.raw::json,
            ARRAY(SELECT json_array_elements_text(r.deps::json))
       FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::int[], $7::int[],
                   $8::text[], $9::text[], $10::text[])
         AS r(id, parent_id, path, level, position, subtree_end, status, raw, deps)`,
    itemColumns(session, items),
  );
}

function itemColumns(session: string, items: readonly ItemRow[]): unknown[] {
  return [
    session,
    items.map((item) => item.id),
    items.map((item) => item.parentId),
    items.map((item) => JSON.stringify(item.path)),
    items.map((item) => item.level),
    items.map((item) => item.position),
    items.map((item) => item.subtreeEnd),
    items.map((item) => item.status),
    items.map((item) => item.raw),
    items.map((item) => JSON.stringify(item.dependencies)),
  ];
}

async function readBacklog(
  client: pg.PoolClient,
  q: string,
  session: string,
  document: string,
  currentItem: string | null,
): Promise<Backlog> {
  const { rows } = await client.query<{ id: string; level: number; status: string; raw: string }>(
    `SELECT id, level, status, raw::text AS raw FROM ${q}.items
      WHERE session_id = $1 ORDER BY position`,
    [session],
  );
  return rowsToBacklog(
    document,
    rows,
    currentItem === null ? undefined : (JSON.parse(currentItem) as string | null),
  );
}

// ---------------------------------------------------------------------------------------------
// Change batches

/** The statements of one append: the sequence check comes first and fails the transaction. */
function appendStatements(
  q: string,
  session: string,
  batch: ChangeBatch,
  schema: string,
  holder: string,
): SyncStatement[] {
  const ids = batch.statuses.map((change) => change.id);
  const statuses = batch.statuses.map((change) => change.status);
  return [
    {
      text: `SELECT ${q}.check_batch($1, $2, $3::uuid)`,
      values: [session, batch.sequence, holder],
    },
    {
      text: `WITH wanted AS (
               SELECT w.id, w.status FROM unnest($2::text[], $3::text[]) AS w(id, status)
             ),
             old AS (
               SELECT i.id, i.status, i.level, i.position FROM ${q}.items i JOIN wanted USING (id)
                WHERE i.session_id = $1
                ORDER BY i.level = 3 DESC, i.position
                FOR UPDATE OF i
             ),
             upd AS (
               UPDATE ${q}.items i
                  SET status = wanted.status, claimed_change = false,
                      lease_owner = CASE WHEN wanted.status IN ('Researching', 'Implementing', 'Retrying')
                                         THEN i.lease_owner END,
                      lease_token = CASE WHEN wanted.status IN ('Researching', 'Implementing', 'Retrying')
                                         THEN i.lease_token END,
                      lease_expires_at = CASE WHEN wanted.status IN ('Researching', 'Implementing', 'Retrying')
                                         THEN i.lease_expires_at END
                 FROM wanted, old
                WHERE i.session_id = $1 AND i.id = wanted.id AND old.id = wanted.id
                  AND i.status IS DISTINCT FROM wanted.status
                  -- A subtask a worker holds right now is the worker's: its outcome decides.
                  AND NOT (i.lease_owner IS NOT NULL AND i.lease_expires_at > now())
                RETURNING i.id, i.status
             )
             INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status)
             SELECT $1, upd.id, 'change', old.status, upd.status
               FROM upd JOIN old USING (id) ORDER BY old.position`,
      values: [session, ids, statuses],
    },
    {
      text: `INSERT INTO ${q}.batches (session_id, sequence, body)
             SELECT id, $2, $3::json FROM ${q}.sessions WHERE id = $1 AND snapshot_current`,
      values: [session, batch.sequence, JSON.stringify(batch)],
    },
    {
      text: `UPDATE ${q}.sessions
                SET batch_sequence = $2,
                    current_item = CASE WHEN $3::boolean THEN $4 ELSE current_item END
              WHERE id = $1`,
      values: [
        session,
        batch.sequence,
        batch.currentItemId !== undefined,
        batch.currentItemId === undefined ? null : JSON.stringify(batch.currentItemId),
      ],
    },
    { text: 'SELECT pg_notify($1, $2)', values: [channelName(schema), session] },
  ];
}

async function appendBatch(
  client: pg.PoolClient,
  q: string,
  session: string,
  batch: ChangeBatch,
  schema: string,
  holder: string,
): Promise<void> {
  for (const statement of appendStatements(q, session, batch, schema, holder)) {
    await client.query(statement.text, statement.values as unknown[]);
  }
}

// ---------------------------------------------------------------------------------------------
// Compaction

function compactStatements(
  q: string,
  session: string,
  snapshot: SnapshotInput,
  rows: ReturnType<typeof backlogToRows>,
  holder: string,
): SyncStatement[] {
  const columns = itemColumns(session, rows.items);
  return [
    {
      text: `SELECT ${q}.check_snapshot($1, $2, $3::uuid)`,
      values: [session, snapshot.sequence, holder],
    },
    {
      text: `DELETE FROM ${q}.items WHERE session_id = $1 AND NOT (id = ANY ($2::text[]))`,
      values: [session, columns[1]],
    },
    {
      // Items under a lease keep their status (a worker is running them), and so do items whose
      // status workers changed since the holder last loaded: the snapshot may not know of it.
      text: `WITH old AS (
               SELECT id, status FROM ${q}.items WHERE session_id = $1 ORDER BY level = 3 DESC, position
               FOR UPDATE
             ),
             up AS (
               INSERT INTO ${q}.items AS i
                 (session_id, id, parent_id, path, level, position, subtree_end, status, raw, dependencies)
               SELECT $1, r.id, r.parent_id,
                      ARRAY(SELECT json_array_elements_text(r.path::json)),
                      r.level, r.position, r.subtree_end, r.status, r.raw::json,
                      ARRAY(SELECT json_array_elements_text(r.deps::json))
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::smallint[], $6::int[], $7::int[],
                             $8::text[], $9::text[], $10::text[])
                   AS r(id, parent_id, path, level, position, subtree_end, status, raw, deps)
               ON CONFLICT (session_id, id) DO UPDATE SET
                 parent_id = EXCLUDED.parent_id, path = EXCLUDED.path, level = EXCLUDED.level,
                 position = EXCLUDED.position, subtree_end = EXCLUDED.subtree_end,
                 raw = EXCLUDED.raw, dependencies = EXCLUDED.dependencies,
                 status = CASE WHEN i.lease_owner IS NULL AND NOT i.claimed_change
                               THEN EXCLUDED.status ELSE i.status END
               RETURNING i.id, i.status
             )
             INSERT INTO ${q}.events (session_id, item_id, kind, from_status, to_status)
             SELECT $1, up.id, 'snapshot', old.status, up.status
               FROM up LEFT JOIN old USING (id)
              WHERE old.status IS DISTINCT FROM up.status`,
      values: columns,
    },
    {
      text: `DELETE FROM ${q}.batches WHERE session_id = $1`,
      values: [session],
    },
    {
      text: `UPDATE ${q}.sessions
                SET snapshot_text = $2, snapshot_sequence = $3, batch_sequence = $3,
                    document = $4::json, current_item = NULL,
                    snapshot_current = NOT EXISTS (
                      SELECT 1 FROM ${q}.items
                       WHERE session_id = $1 AND (lease_owner IS NOT NULL OR claimed_change)
                    )
              WHERE id = $1`,
      values: [session, snapshot.text, snapshot.sequence, rows.document],
    },
  ];
}

async function compactSession(
  client: pg.PoolClient,
  q: string,
  session: string,
  snapshot: SnapshotInput,
  rows: ReturnType<typeof backlogToRows>,
  holder: string,
): Promise<void> {
  for (const statement of compactStatements(q, session, snapshot, rows, holder)) {
    await client.query(statement.text, statement.values as unknown[]);
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

function checkDraft(draft: SessionDraft): void {
  if (typeof draft !== 'object' || draft === null) {
    throw new TypeError(`create expected a session draft object, got ${String(draft)}`);
  }
  if (typeof draft.hash !== 'string' || !/^[0-9a-f]{12}$/.test(draft.hash)) {
    throw new TypeError(`draft.hash must be 12 lowercase hex digits, got ${String(draft.hash)}`);
  }
  if (typeof draft.prdSnapshot !== 'string' && !(draft.prdSnapshot instanceof Uint8Array)) {
    throw new TypeError('draft.prdSnapshot must be a string or a Uint8Array');
  }
  if (typeof draft.tasksText !== 'string') {
    throw new TypeError(`draft.tasksText must be a string, got ${typeof draft.tasksText}`);
  }
  if (draft.parentSession !== null && typeof draft.parentSession !== 'string') {
    throw new TypeError('draft.parentSession must be a session id or null');
  }
}

const STATUS_SET = new Set<string>(STATUSES);

function checkBatch(batch: ChangeBatch): void {
  if (typeof batch !== 'object' || batch === null) {
    throw new TypeError(`expected a change batch object, got ${String(batch)}`);
  }
  if (!Number.isSafeInteger(batch.sequence) || batch.sequence < 1) {
    throw new TypeError(`batch.sequence must be a positive integer, got ${String(batch.sequence)}`);
  }
  if (!Array.isArray(batch.statuses)) {
    throw new TypeError('batch.statuses must be an array of { id, status }');
  }
  const seen = new Set<string>();
  for (const change of batch.statuses) {
    if (typeof change?.id !== 'string' || !STATUS_SET.has(change.status)) {
      throw new TypeError(
        `batch.statuses must hold { id: string, status: one of ${STATUSES.join(', ')} }, got ${JSON.stringify(change)}`,
      );
    }
    if (seen.has(change.id)) {
      throw new TypeError(`batch.statuses names ${change.id} twice; each id at most once`);
    }
    seen.add(change.id);
  }
  const current = batch.currentItemId;
  if (current !== undefined && current !== null && typeof current !== 'string') {
    throw new TypeError('batch.currentItemId must be a string, null or undefined');
  }
}

function checkSnapshot(snapshot: SnapshotInput): ReturnType<typeof backlogToRows> {
  if (typeof snapshot !== 'object' || snapshot === null || typeof snapshot.text !== 'string') {
    throw new TypeError('compact expected { text: string, sequence: number }');
  }
  if (!Number.isSafeInteger(snapshot.sequence) || snapshot.sequence < 0) {
    throw new TypeError(
      `snapshot.sequence must be a non-negative integer, got ${String(snapshot.sequence)}`,
    );
  }
  try {
    return backlogToRows(parseBacklog(snapshot.text, { source: 'the snapshot' }));
  } catch (error) {
    throw new TypeError(
      `compact expected the text of a valid backlog: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function checkArtifact(name: string, text: string): void {
  if (!isArtifactName(name)) {
    throw new TypeError(
      `expected an artifact name (letters, digits, . _ -; not tasks.json, prd_snapshot.md or parent_session.txt), got ${String(name)}`,
    );
  }
  if (typeof text !== 'string') throw new TypeError('an artifact text must be a string');
}

function parseTasks(text: string, what: string): Backlog {
  try {
    return parseBacklog(text, { source: what });
  } catch (error) {
    const issues =
      (
        error as {
          issues?: { code: string; path: (string | number)[]; message: string; itemId?: string }[];
        }
      ).issues ?? [];
    throw new SessionError(
      'INVALID_BACKLOG',
      `${what} is not a valid backlog: ${error instanceof Error ? error.message : String(error)}`,
      { issues, cause: error },
    );
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SessionError('ABORTED', 'aborted', { cause: signal.reason });
}

/**
 * The error a failed database call becomes: the sequence checks' refusals (SQLSTATE 22023, or
 * their message from the sync child) are caller misuse, a TypeError; a session the checks did not
 * find (P0002) is NOT_FOUND; anything else is IO.
 */
function ioError(what: string, error: unknown, id?: string): SessionError | TypeError {
  if (error instanceof SessionError || error instanceof TypeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  if (code === '22023' || /^out of sequence:/.test(message)) return new TypeError(message);
  if (code === 'SPLCK' || / is no longer held by this process$/.test(message)) {
    return new SessionError('LOCK_LOST', message, { id, cause: error });
  }
  if (code === 'P0002' || /^no session /.test(message)) {
    return new SessionError('NOT_FOUND', message, { id, cause: error });
  }
  return new SessionError('IO', `PostgreSQL ${what} failed: ${message}`, { id, cause: error });
}

/** The serializable connection settings of a pool, for the listener and the sync child. */
function connectionConfig(pool: pg.Pool): pg.ClientConfig {
  const options = pool.options as pg.PoolConfig;
  const config: Record<string, unknown> = {};
  for (const key of [
    'connectionString',
    'host',
    'port',
    'user',
    'password',
    'database',
    'ssl',
    'application_name',
  ] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'function') config[key] = value;
  }
  return config as pg.ClientConfig;
}

/** Where the pool connects, without any password. */
function describeTarget(pool: pg.Pool): string {
  const options = pool.options as pg.PoolConfig;
  if (options.connectionString) {
    try {
      const url = new URL(options.connectionString);
      url.password = '';
      return url.toString();
    } catch {
      return 'postgres';
    }
  }
  return `postgres://${options.user ?? ''}@${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`;
}
