import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SessionError, type SessionLockHolder } from '@savepoint/session';
import type pg from 'pg';
import { loadPg } from './load-pg.ts';
import { runSync } from './sync-query.ts';

/**
 * The hold of one process on one session: an advisory lock on a connection of its own (the
 * server drops it when that connection ends, so a killed holder's session can be opened again at
 * once) and, in the session's row, who holds it and a token that every write of the holder must
 * present.
 */
export class HolderLock {
  readonly token: string;
  readonly holder: SessionLockHolder;
  readonly signal: AbortSignal;
  readonly #client: pg.Client;
  readonly #backendPid: number;
  readonly #config: pg.ClientConfig;
  readonly #q: string;
  readonly #keys: [string, string];
  readonly #session: string;
  readonly #controller = new AbortController();
  #released = false;

  private constructor(
    client: pg.Client,
    backendPid: number,
    config: pg.ClientConfig,
    q: string,
    keys: [string, string],
    session: string,
    token: string,
    holder: SessionLockHolder,
  ) {
    this.#client = client;
    this.#backendPid = backendPid;
    this.#config = config;
    this.#q = q;
    this.#keys = keys;
    this.#session = session;
    this.token = token;
    this.holder = holder;
    this.signal = this.#controller.signal;
    const lost = (): void => {
      if (this.#released || this.#controller.signal.aborted) return;
      this.#controller.abort(
        new SessionError('LOCK_LOST', `lost the hold on session ${session}: its connection ended`, {
          id: session,
        }),
      );
    };
    client.on('error', lost);
    client.on('end', lost);
  }

  /** A new holder's token and record, before the lock is taken. */
  static describe(): { token: string; holder: SessionLockHolder } {
    return {
      token: randomUUID(),
      holder: { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() },
    };
  }

  /**
   * Takes the advisory lock of a session on a new connection. For a session being created
   * (`claim` false) the caller writes the holder into the row itself; otherwise this does.
   *
   * @returns the lock, or the recorded holder when a live process has the session
   */
  static async take(options: {
    config: pg.ClientConfig;
    q: string;
    schema: string;
    session: string;
    claimRow: boolean;
    token?: string;
    holder?: SessionLockHolder;
  }): Promise<HolderLock | { held: SessionLockHolder | undefined }> {
    const { config, q, session } = options;
    const keys: [string, string] = [`savepoint:${options.schema}`, session];
    const fresh = HolderLock.describe();
    const token = options.token ?? fresh.token;
    const holder = options.holder ?? fresh.holder;
    const client = new (loadPg().Client)(config);
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ ok: boolean; pid: number }>(
        'SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok, pg_backend_pid() AS pid',
        keys,
      );
      let ok = rows[0]!.ok;
      if (!ok && options.claimRow) {
        const current = await client.query<{ holder: SessionLockHolder | null }>(
          `SELECT holder FROM ${q}.sessions WHERE id = $1`,
          [session],
        );
        if (current.rows[0] && current.rows[0].holder === null) {
          // Released a moment ago: the holder's connection is still closing. Wait for it.
          await client.query("SET lock_timeout = '5s'");
          try {
            await client.query('SELECT pg_advisory_lock(hashtext($1), hashtext($2))', keys);
            ok = true;
          } catch {
            ok = false;
          }
          await client.query('RESET lock_timeout');
        }
        if (!ok) {
          await client.end();
          return { held: current.rows[0]?.holder ?? undefined };
        }
      } else if (!ok) {
        await client.end();
        return { held: undefined };
      }
      if (options.claimRow) {
        const updated = await client.query(
          `UPDATE ${q}.sessions SET holder = $2::json, holder_token = $3 WHERE id = $1`,
          [session, JSON.stringify(holder), token],
        );
        if (updated.rowCount === 0) {
          await client.end();
          throw new SessionError('NOT_FOUND', `no session ${session}`, { id: session });
        }
      }
      return new HolderLock(client, rows[0]!.pid, config, q, keys, session, token, holder);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  /** Gives the session up: clears the row's holder, unlocks, closes the connection. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      await this.#client.query(
        `UPDATE ${this.#q}.sessions SET holder = NULL, holder_token = NULL
          WHERE id = $1 AND holder_token = $2`,
        [this.#session, this.token],
      );
      await this.#client.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', this.#keys);
    } catch {
      // The connection is gone already: so is the advisory lock.
    } finally {
      await this.#client.end().catch(() => {});
    }
  }

  /**
   * {@link HolderLock.release}, synchronously: a child clears the row and ends this lock's
   * server process, waiting (up to 5 s) until it has ended, so the session can be opened at once.
   */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      runSync(this.#config, [
        {
          text: `UPDATE ${this.#q}.sessions SET holder = NULL, holder_token = NULL
                  WHERE id = $1 AND holder_token = $2`,
          values: [this.#session, this.token],
        },
        { text: 'SELECT pg_terminate_backend($1, 5000)', values: [this.#backendPid] },
      ]);
    } finally {
      this.#client.end().catch(() => {});
    }
  }

  /** Throws `LOCK_LOST` when the hold was lost. */
  check(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }
}
