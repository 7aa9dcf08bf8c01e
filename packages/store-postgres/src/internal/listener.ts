import type pg from 'pg';
import { loadPg } from './load-pg.ts';
import { MAX_TIMER_MS } from './timers.ts';

/** Why a wait for work ended. */
export type WakeReason = 'notified' | 'timeout' | 'aborted';

/** Options of a wait for work. */
export interface WaitForWorkOptions {
  /** Ends the wait early with `'aborted'`. */
  readonly signal?: AbortSignal;
  /** The longest wait, in milliseconds (the poll interval). Default: the store's poll interval. */
  readonly timeoutMs?: number;
  /**
   * A count from {@link Listener.count}: when a notification for the session arrived after it was
   * read, the wait ends at once. Closes the gap between a claim that found nothing and the wait.
   */
  readonly since?: number;
}

const RETRY_AFTER_MS = 5000;

interface Waiter {
  readonly session: string;
  readonly wake: (reason: WakeReason) => void;
}

/**
 * One LISTEN connection per store, shared by every wait. When it breaks, waits fall back to
 * their timeout (polling) and the next wait connects again.
 */
export class Listener {
  readonly #config: () => pg.ClientConfig;
  readonly #channel: string;
  readonly #waiters = new Set<Waiter>();
  readonly #counts = new Map<string, number>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(config: () => pg.ClientConfig, channel: string) {
    this.#config = config;
    this.#channel = channel;
  }

  /** How many notifications for `session` arrived so far (see {@link WaitForWorkOptions.since}). */
  count(session: string): number {
    return this.#counts.get(session) ?? 0;
  }

  /** Connects and LISTENs if not yet done; failures are left to polling. */
  async ensure(): Promise<void> {
    if (this.#closed || this.#client) return;
    // After a failed connection, polling carries on alone for a while before the next try.
    if (performance.now() - this.#failedAt < RETRY_AFTER_MS) return;
    if (!this.#connecting) {
      this.#connecting = this.#connect().finally(() => {
        this.#connecting = undefined;
      });
    }
    await this.#connecting;
  }

  async wait(
    session: string,
    options: WaitForWorkOptions & { timeoutMs: number },
  ): Promise<WakeReason> {
    const { signal, timeoutMs, since } = options;
    if (signal?.aborted) return 'aborted';
    await this.ensure();
    if (since !== undefined && this.count(session) > since) return 'notified';
    if (signal?.aborted) return 'aborted';
    return new Promise<WakeReason>((resolve) => {
      const finish = (reason: WakeReason): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
        resolve(reason);
      };
      const onAbort = (): void => finish('aborted');
      const waiter: Waiter = { session, wake: finish };
      const timer = setTimeout(() => finish('timeout'), Math.min(timeoutMs, MAX_TIMER_MS));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    for (const waiter of [...this.#waiters]) waiter.wake('aborted');
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new (loadPg().Client)(this.#config());
    const drop = (): void => {
      if (this.#client === client) this.#client = undefined;
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (message) => {
      if (message.channel !== this.#channel || message.payload === undefined) return;
      const session = message.payload;
      this.#counts.set(session, this.count(session) + 1);
      for (const waiter of [...this.#waiters]) {
        if (waiter.session === session) waiter.wake('notified');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel.replace(/"/g, '""')}"`);
    } catch {
      this.#failedAt = performance.now();
      await client.end().catch(() => {});
      return; // No notifications for now: the waits poll.
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
  }
}
