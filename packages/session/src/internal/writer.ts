import { serializeBacklog } from '@savepoint/task-schema';
import { SessionError } from '../errors.ts';
import type { ChangeBatch, SessionHandle } from '../store.ts';
import type { LiveSession } from './live-session.ts';
import { lockLost } from './lock-lost.ts';

/** When pending updates are written without an explicit `flushUpdates()`. */
export interface FlushPolicy {
  /** Flush once this many updates are pending. A positive integer. */
  maxPending?: number;
  /**
   * Flush this many milliseconds after the first update that made the session dirty. The timer
   * never keeps the process alive.
   */
  maxDelayMs?: number;
}

/** Where the writer logs; the manager's logger. */
export interface WriterLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** Counters for logs and dashboards, from `SessionManager.getStats()`. */
export interface SessionStats {
  /** Updates applied in memory and not yet handed to a flush. */
  readonly pending: number;
  /** Whether there are changes not yet handed to a flush. */
  readonly isDirty: boolean;
  /** Whether a flush or compaction is running or queued. */
  readonly isFlushing: boolean;
  /** Successful asynchronous flushes that wrote something (journal appends and compactions). */
  readonly flushes: number;
  /** Successful synchronous flushes (`flushSync`). */
  readonly syncFlushes: number;
  /** Flushes that failed (their changes stayed pending). */
  readonly failedFlushes: number;
  /** Compactions: snapshots written (by `saveBacklog`, `close`, or a long journal). */
  readonly compactions: number;
  /** Updates written by all flushes together. */
  readonly updatesFlushed: number;
  /** `updatesFlushed / (flushes + syncFlushes)`, or 0 before the first flush. */
  readonly updatesPerFlush: number;
  /** Updates written by the last flush. */
  readonly lastFlushUpdates: number;
  /** Duration of the last flush in milliseconds, or `null`. */
  readonly lastFlushMs: number | null;
  /** When the last flush finished, or `null`. */
  readonly lastFlushAt: Date | null;
  /** Sum of all flush durations in milliseconds. */
  readonly totalFlushMs: number;
  /** The error of the last failed flush, cleared by the next successful one. */
  readonly lastError: Error | null;
}

/**
 * Bytes under which a journal is never compacted on its own: past both this and the size of the
 * snapshot, a flush compacts the journal into a new snapshot.
 */
export const MIN_COMPACT_BYTES = 1024 * 1024;

/**
 * Writes one open session: journal appends (one batch per flush) and compactions, one at a time
 * in call order, plus the synchronous twins for a process's last moments. It is the only writer
 * of the handle.
 */
export class SessionWriter {
  readonly #handle: SessionHandle;
  readonly #live: LiveSession;
  readonly #policy: FlushPolicy;
  readonly #logger: WriterLogger;
  #sequence: number;
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #running: 'append' | 'compact' | undefined;
  /** The in-memory backlog was replaced: only a compaction can write it. */
  #replaced = false;
  /** Canonical text of the replacement, reused when nothing changed since. */
  #replacementText: string | undefined;
  /** Estimated bytes of the snapshot and of the journal since it, for automatic compaction. */
  #snapshotBytes: number;
  #journalBytes: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #autoQueued = false;
  /**
   * A synchronous compaction overtook an asynchronous one; whichever landed last, the next write
   * must be a compaction again so the snapshot and the journal's base agree.
   */
  #overtaken = false;

  #flushes = 0;
  #syncFlushes = 0;
  #failedFlushes = 0;
  #compactions = 0;
  #updatesFlushed = 0;
  #lastFlushUpdates = 0;
  #lastFlushMs: number | null = null;
  #lastFlushAt: Date | null = null;
  #totalFlushMs = 0;
  #lastError: Error | null = null;

  constructor(init: {
    handle: SessionHandle;
    live: LiveSession;
    sequence: number;
    snapshotBytes: number;
    journalBytes: number;
    policy: FlushPolicy;
    logger: WriterLogger;
  }) {
    this.#handle = init.handle;
    this.#live = init.live;
    this.#sequence = init.sequence;
    this.#snapshotBytes = init.snapshotBytes;
    this.#journalBytes = init.journalBytes;
    this.#policy = init.policy;
    this.#logger = init.logger;
  }

  /** Whether there are changes not yet handed to a flush. */
  get isDirty(): boolean {
    return this.#replaced || !this.#live.pending.isEmpty;
  }

  /** The open session's handle. */
  get handle(): SessionHandle {
    return this.#handle;
  }

  /** Called after every recorded change: applies the flush policy. */
  changed(): void {
    const { maxPending } = this.#policy;
    if (maxPending !== undefined && this.#live.pending.updates >= maxPending && !this.#autoQueued) {
      this.#autoQueued = true;
      this.#autoFlush('maxPending');
      return;
    }
    this.#armTimer();
  }

  /** Marks the in-memory backlog as replaced; `text` is its canonical text. */
  replaced(text: string | undefined): void {
    this.#replaced = true;
    this.#replacementText = text;
  }

  /** Writes every change since the last flush as one batch (or compacts after a replacement). */
  flush(): Promise<void> {
    return this.#enqueue(() => this.#flushOnce());
  }

  /** Writes a new snapshot holding the whole in-memory state, then starts an empty journal. */
  compact(): Promise<void> {
    return this.#enqueue(() => this.#compactOnce());
  }

  /** Writes the latest state synchronously; returns whether anything was written. */
  flushSync(): boolean {
    const live = this.#live;
    if (!this.isDirty && this.#queued === 0) return false;
    this.#assertHeld();
    const started = performance.now();
    const updates = live.pending.updates;
    if (this.#replaced || this.#running === 'compact') {
      // A replacement, or a compaction the process may not live to finish: write it all.
      if (this.#running === 'compact') this.#overtaken = true;
      const text = serializeBacklog(live.backlog);
      this.#handle.compactSync({ text, sequence: this.#sequence });
      live.pending.clear();
      this.#afterCompaction(text);
    } else {
      // The journal finishes any append still running first, so batches stay in order; an empty
      // batch is enough to wait for it.
      const { batch } = live.pending.take(this.#sequence + 1);
      this.#handle.appendSync(batch);
      this.#sequence = batch.sequence;
      this.#journalBytes += estimateBytes(batch);
    }
    this.#clearTimer();
    this.#record(updates, started);
    this.#syncFlushes += 1;
    return true;
  }

  /** Flushes, then compacts when the journal holds anything, waiting for queued writes. */
  async close(): Promise<void> {
    await this.flush();
    // An update racing with close() may have queued one more flush behind ours.
    while (this.#queued > 0 || this.isDirty) await this.flush();
    if (this.#journalBytes > 0) await this.compact();
    this.#clearTimer();
  }

  /** Stops the timer of a session that is being let go. */
  detach(): void {
    this.#clearTimer();
  }

  /** Counters for logs. */
  stats(): SessionStats {
    const flushCount = this.#flushes + this.#syncFlushes;
    return {
      pending: this.#live.pending.updates,
      isDirty: this.isDirty,
      isFlushing: this.#queued > 0,
      flushes: this.#flushes,
      syncFlushes: this.#syncFlushes,
      failedFlushes: this.#failedFlushes,
      compactions: this.#compactions,
      updatesFlushed: this.#updatesFlushed,
      updatesPerFlush: flushCount === 0 ? 0 : this.#updatesFlushed / flushCount,
      lastFlushUpdates: this.#lastFlushUpdates,
      lastFlushMs: this.#lastFlushMs,
      lastFlushAt: this.#lastFlushAt,
      totalFlushMs: this.#totalFlushMs,
      lastError: this.#lastError,
    };
  }

  #enqueue(run: () => Promise<void>): Promise<void> {
    this.#queued += 1;
    const settled = this.#chain.then(run).finally(() => {
      this.#queued -= 1;
    });
    this.#chain = settled.then(
      () => undefined,
      () => undefined,
    );
    return settled;
  }

  async #flushOnce(): Promise<void> {
    this.#autoQueued = false;
    if (this.#replaced) return this.#compactOnce();
    const pending = this.#live.pending;
    if (pending.isEmpty) return;
    this.#guard();
    this.#clearTimer();
    const started = performance.now();
    // Taken before awaiting: an update landing while the append runs goes to the next batch.
    const { batch, updates } = pending.take(this.#sequence + 1);
    this.#sequence = batch.sequence;
    this.#running = 'append';
    try {
      await this.#handle.append(batch);
    } catch (error) {
      if (this.#sequence === batch.sequence) this.#sequence -= 1;
      pending.restore(batch, updates);
      throw this.#failed(error);
    } finally {
      this.#running = undefined;
    }
    this.#journalBytes += estimateBytes(batch);
    this.#record(updates, started);
    this.#flushes += 1;
    this.#logger.debug?.('flushed session', {
      session: this.#live.metadata.id,
      batch: batch.sequence,
      updates,
      ms: this.#lastFlushMs,
    });
    if (this.#journalBytes > Math.max(this.#snapshotBytes, MIN_COMPACT_BYTES)) {
      // The flush itself is durable; a failed compaction only leaves the journal long.
      await this.#compactOnce().catch((error: unknown) => {
        this.#logger.error?.('automatic compaction failed; the journal stays as it is', {
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }
  }

  async #compactOnce(): Promise<void> {
    this.#guard();
    this.#clearTimer();
    const live = this.#live;
    const started = performance.now();
    const text =
      this.#replacementText !== undefined && live.pending.isEmpty
        ? this.#replacementText
        : serializeBacklog(live.backlog);
    // The snapshot holds the pending changes too; they come back if it cannot be written.
    const { batch, updates } = live.pending.take(this.#sequence + 1);
    this.#running = 'compact';
    try {
      await this.#handle.compact({ text, sequence: this.#sequence });
    } catch (error) {
      live.pending.restore(batch, updates);
      throw this.#failed(error);
    } finally {
      this.#running = undefined;
    }
    this.#afterCompaction(text);
    if (this.#overtaken) {
      this.#overtaken = false;
      this.#replaced = true;
      this.#armTimer();
    }
    this.#record(updates, started);
    this.#flushes += 1;
    this.#logger.debug?.('compacted session', {
      session: live.metadata.id,
      sequence: this.#sequence,
      ms: this.#lastFlushMs,
    });
  }

  #afterCompaction(text: string): void {
    this.#replaced = false;
    this.#replacementText = undefined;
    this.#snapshotBytes = text.length;
    this.#journalBytes = 0;
    this.#compactions += 1;
  }

  #guard(): void {
    try {
      this.#assertHeld();
    } catch (error) {
      this.#failedFlushes += 1;
      this.#lastError = error as SessionError;
      throw error;
    }
  }

  #failed(error: unknown): SessionError {
    this.#failedFlushes += 1;
    const { metadata } = this.#live;
    const wrapped =
      error instanceof SessionError
        ? error
        : new SessionError(
            'IO',
            `cannot flush session ${metadata.id}: ${(error as Error)?.message ?? String(error)}`,
            { path: metadata.path, id: metadata.id, cause: error },
          );
    this.#lastError = wrapped;
    this.#armTimer();
    return wrapped;
  }

  #record(updates: number, started: number): void {
    const elapsed = performance.now() - started;
    this.#updatesFlushed += updates;
    this.#lastFlushUpdates = updates;
    this.#lastFlushMs = elapsed;
    this.#lastFlushAt = new Date();
    this.#totalFlushMs += elapsed;
    this.#lastError = null;
  }

  #assertHeld(): void {
    const signal = this.#handle.signal;
    if (signal.aborted) throw lockLost(this.#live.metadata, signal.reason);
  }

  #armTimer(): void {
    const { maxDelayMs } = this.#policy;
    if (maxDelayMs === undefined || this.#timer !== undefined || !this.isDirty) return;
    // A delay longer than a timer holds (about 24.8 days) would fire after 1 ms: it waits that long.
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#autoFlush('maxDelayMs');
      },
      Math.min(maxDelayMs, 2 ** 31 - 1),
    );
    this.#timer.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #autoFlush(reason: 'maxPending' | 'maxDelayMs'): void {
    this.flush().catch((error: unknown) => {
      this.#logger.error?.('automatic flush failed; changes stay pending', {
        reason,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }
}

/** About how many bytes a batch takes in the journal, for the compaction threshold. */
function estimateBytes(batch: ChangeBatch): number {
  let bytes = 40;
  for (const change of batch.statuses) bytes += change.id.length + change.status.length + 8;
  if (batch.currentItemId) bytes += batch.currentItemId.length + 8;
  return bytes;
}
