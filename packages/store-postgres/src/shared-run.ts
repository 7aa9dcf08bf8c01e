import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  createRunner,
  type FailureRecord,
  type Runner,
  type RunnerEvent,
  type RunnerOptions,
  reapWorkDir,
  type Worker,
} from '@savepoint/runner';
import type { ReadonlyBacklogIndex, SessionRef } from '@savepoint/session';
import type { Status } from '@savepoint/task-schema';
import type { PostgresStore } from './postgres-store.ts';
import { type ClaimsWorkSource, createWorkSource } from './work-source.ts';

/** Options of {@link workSharedSession}. */
export interface SharedWorkOptions {
  /** The store holding the session. */
  readonly store: PostgresStore;
  /** The session to work on (its id). */
  readonly session: SessionRef;
  /** Does one attempt of one subtask (`commandWorker(cmd)` for a shell command). */
  readonly worker: Worker;
  /**
   * This process's worker id; slot `n` (1-based) claims as `<workerId>/<n>`, e.g.
   * `host-a/4242/3`.
   */
  readonly workerId: string;
  /** How many subtasks this process works on at once, one worker slot each. @default 1 */
  readonly concurrency?: number;
  /**
   * A local folder for this machine's workers of the session: slot `n` of this process keeps its
   * `logs/` and `workers.json` in `<workDir>/<host>-<pid>-<n>/`. Before starting, what the slots
   * of a killed process of this host left running there (its pid gone) is ended.
   */
  readonly workDir: string;
  /** The lease of each claim, renewed every third of it while the subtask runs. @default 30000 */
  readonly leaseMs?: number;
  /** Extra attempts for a failing subtask, made by the same slot under the same lease. @default 0 */
  readonly retries?: number;
  /** The pause before retry `n`, in milliseconds. @default the runner's */
  readonly backoff?: (retry: number) => number;
  /** An attempt running longer than this is stopped and counts as failed. */
  readonly timeoutMs?: number;
  /** Only subtasks under this item id. */
  readonly scope?: string;
  /**
   * Stops claiming; attempts in flight are aborted and their subtasks given back at once (not at
   * lease expiry). The run then resolves with `interrupted: true`.
   */
  readonly signal?: AbortSignal;
  /** Describes items to workers (ancestors, dependency titles); see the runner's `index`. */
  readonly index?: Pick<ReadonlyBacklogIndex, 'get' | 'ancestors'>;
  /** Progress of every slot: the runner's events with the slot's worker id. */
  readonly onEvent?: (event: RunnerEvent, workerId: string) => void;
  /**
   * Whether `onEvent` receives `output` events, line by line (the runner's `outputEvents`).
   * Without them a command writes straight to its attempt log. @default true with an `onEvent`
   */
  readonly outputEvents?: boolean;
}

/** What {@link SharedWork.run} resolves to. */
export interface SharedWorkSummary {
  /** Subtasks this process completed (recorded), in the order they finished. */
  readonly completed: string[];
  /** Subtasks this process recorded Failed. */
  readonly failed: FailureRecord[];
  /** Subtasks whose lease this process lost while working on them (nothing recorded). */
  readonly lost: string[];
  /** Whether the signal stopped the work (its subtasks were given back). */
  readonly interrupted: boolean;
  /** Processes killed earlier workers of this host left in `workDir`, ended before starting. */
  readonly reaped: number;
  /** The session's subtasks in scope by status when the work ended. */
  readonly counts: Record<Status, number>;
}

/** Work on a shared session by this process, started with {@link workSharedSession}. */
export interface SharedWork {
  /** Works until nothing in scope can become ready any more (or the signal fires). Call once. */
  run(): Promise<SharedWorkSummary>;
  /**
   * For a process that must exit now (a second Ctrl-C): SIGKILLs every worker process and gives
   * every held subtask back, synchronously.
   */
  forceStop(): void;
}

/**
 * Joins a session of the PostgreSQL store as `concurrency` workers of this process: each slot is
 * a runner of `@savepoint/runner` over its own claims (`<workerId>/<n>`), taking the next ready
 * subtask under a lease, renewing it while the work runs, and recording the outcome fenced by
 * the lease. A slot whose lease is lost (it stalled past the lease, and the subtask may run
 * elsewhere) stops that subtask's process group and records nothing. The work ends when nothing
 * in scope can become ready any more: nothing ready, nothing held by any worker, no retry
 * pending.
 *
 * @throws SessionError `NOT_FOUND` (from `run()`) when there is no such session
 */
export function workSharedSession(options: SharedWorkOptions): SharedWork {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new TypeError(
      `workSharedSession expected concurrency to be a whole number of 1 or more, got ${String(concurrency)}`,
    );
  }
  if (typeof options.workDir !== 'string' || options.workDir === '') {
    throw new TypeError(
      `workSharedSession expected workDir to be a folder path, got ${String(options.workDir)}`,
    );
  }
  const me = `${hostname()}-${process.pid}`;
  const slots: { source: ClaimsWorkSource; runner: Runner }[] = [];
  let started = false;

  return {
    async run() {
      if (started) throw new TypeError('SharedWork.run() was already called');
      started = true;
      const claims = await options.store.join(options.session);
      const reaped = await reapGone(options.workDir);
      for (let slot = 1; slot <= concurrency; slot++) {
        const workerId = `${options.workerId}/${slot}`;
        let runner: Runner | undefined;
        const source = createWorkSource(claims, {
          workerId,
          ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
          ...(options.scope === undefined ? {} : { scope: options.scope }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onLost: (id) => runner?.drop(id),
        });
        const runnerOptions: RunnerOptions = {
          source,
          workDir: join(options.workDir, `${me}-${slot}`),
          worker: options.worker,
          retries: options.retries ?? 0,
          ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.scope === undefined ? {} : { scope: options.scope }),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.index === undefined ? {} : { index: options.index }),
          ...(options.onEvent === undefined
            ? {}
            : { onEvent: (event: RunnerEvent) => options.onEvent!(event, workerId) }),
          ...(options.outputEvents === undefined ? {} : { outputEvents: options.outputEvents }),
        };
        runner = createRunner(runnerOptions);
        slots.push({ source, runner });
      }
      const settled = await Promise.allSettled(slots.map((slot) => slot.runner.run()));
      // Whatever a slot still holds (a slot that failed on an error) goes back at once.
      await Promise.allSettled(slots.map((slot) => slot.source.releaseAll()));
      const failure = settled.find((result) => result.status === 'rejected');
      if (failure) throw (failure as PromiseRejectedResult).reason;
      const summaries = settled.map(
        (result) => (result as PromiseFulfilledResult<Awaited<ReturnType<Runner['run']>>>).value,
      );
      return {
        completed: summaries.flatMap((summary) => summary.completed),
        failed: summaries.flatMap((summary) => summary.failed),
        lost: summaries.flatMap((summary) => summary.lost),
        interrupted: summaries.some((summary) => summary.interrupted),
        reaped: summaries.reduce((sum, summary) => sum + summary.reaped, reaped),
        counts: await claims.countByStatus(options.scope),
      };
    },
    forceStop() {
      for (const slot of slots) slot.runner.forceStop();
    },
  };
}

/**
 * Ends what killed work processes of this host left in their slot folders under `base`
 * (`<host>-<pid>-<n>` whose pid is gone), as their next runner would have.
 */
async function reapGone(base: string): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return 0;
  }
  let reaped = 0;
  const host = hostname();
  for (const name of names) {
    const match = /^(.*)-(\d+)-\d+$/.exec(name);
    if (!match || match[1] !== host || isAlive(Number(match[2]))) continue;
    reaped += await reapWorkDir(join(base, name));
  }
  return reaped;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
