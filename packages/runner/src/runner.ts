import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ReadonlyBacklogIndex, SessionManager } from '@savepoint/session';
import type { Subtask } from '@savepoint/task-schema';
import { RunnerError } from './errors.ts';
import { TOKEN_VARIABLE } from './internal/proc.ts';
import { ProcessGroups } from './internal/process-groups.ts';
import { MAX_TIMER_MS } from './internal/timers.ts';
import { describeItem, describeWithoutIndex } from './item-details.ts';
import { blockedSubtasks, syncErrorReport } from './report.ts';
import type {
  FailureRecord,
  RunnerEvent,
  RunSummary,
  Worker,
  WorkerContext,
  WorkResult,
} from './types.ts';
import { createSessionSource, type SessionSourceOptions, type WorkSource } from './work-source.ts';

/** Options of {@link createRunner}. */
export interface RunnerOptions {
  /**
   * A session manager with an open session (after `initialize()` or `loadSession()`). Leave it
   * out to work from a `source` alone (a shared session of another store), with `workDir`.
   */
  session?: SessionManager;
  /**
   * Without `session`: the local folder for `logs/` and `workers.json` (one folder per live
   * runner: a runner ends the processes an earlier runner of the same folder left). Workers see
   * it as `SAVEPOINT_SESSION_DIR`. Not used with `session` (its folder is used).
   */
  workDir?: string;
  /**
   * Without `session`: the backlog used to describe a subtask to its worker (ancestors,
   * dependency titles and the dependency statuses this index holds). Without it, a worker is told
   * no ancestors and each dependency with `title` and `status` `null`.
   */
  index?: Pick<ReadonlyBacklogIndex, 'get' | 'ancestors'>;
  /** Does one attempt of one subtask: a function, or {@link commandWorker} for a shell command. */
  worker: Worker;
  /** How many subtasks run at once. @default 1 */
  concurrency?: number;
  /** Extra attempts for a failing subtask. @default 0 */
  retries?: number;
  /**
   * The pause before retry `n` (1 for the first retry), in milliseconds.
   * @default n => Math.min(5000, 200 * 2 ** (n - 1))
   */
  backoff?: (retry: number) => number;
  /**
   * An attempt running longer than this many milliseconds is stopped and counts as failed. `0`,
   * or more than a Node timer holds (2,147,483,647 ms, about 24.8 days): no limit.
   * @default no limit
   */
  timeoutMs?: number;
  /** Only subtasks under this item id. */
  scope?: string;
  /**
   * When it fires the runner stops claiming, aborts the attempts in flight, puts their subtasks
   * back to Planned, waits for their processes to end, and resolves with `interrupted: true`.
   */
  signal?: AbortSignal;
  /** Receives progress and log events. Must not throw. */
  onEvent?: (event: RunnerEvent) => void;
  /**
   * Whether `onEvent` gets `output` events, one per line printed. Without them a command worker
   * gives the attempt log to the command as its stdout and stderr (no pipes, no copying), and a
   * failure's output tail is read back from the log. @default true when `onEvent` is given
   */
  outputEvents?: boolean;
  /** How many of the last output lines a failure keeps for its report. @default 20 */
  tailLines?: number;
  /** When statuses are written: after every outcome, or after every change. @default 'outcome' */
  flush?: 'outcome' | 'change';
  /**
   * With the default source: outcomes are written in groups, at most one write per this many
   * milliseconds (a dependant never waits for it). See {@link SessionSourceOptions.groupCommitMs}.
   * @default 20
   */
  groupCommitMs?: number;
  /**
   * Keep the session's ERROR_REPORT.md in line with its Failed subtasks when `run()` ends
   * (interrupted or not): written while some are Failed, removed once none is. @default true
   */
  errorReport?: boolean;
  /**
   * Where work comes from; the default claims through `session`'s index. Required without
   * `session`. A runner without a session reports no `blocked` subtasks and keeps no
   * ERROR_REPORT.md (both need the whole backlog): `summary.failed` lists this runner's failures.
   */
  source?: WorkSource;
}

/** A runner over one open session. */
export interface Runner {
  /** Works until nothing in scope is ready (or the signal fires). Call it once. */
  run(): Promise<RunSummary>;
  /**
   * For a process that must exit now (a second Ctrl-C): SIGKILLs every worker process and puts
   * the subtasks in flight back to Planned in memory, synchronously. Flush the session after it
   * (`flushSync()`).
   */
  forceStop(): void;
  /**
   * Stops the attempt on subtask `id` whose claim was lost (another worker may run it now): its
   * process group is ended, and its outcome is neither recorded nor counted; it is listed in
   * `summary.lost` and reported as a `lost` event. Returns whether `id` was in flight here.
   */
  drop(id: string): boolean;
  /** The subtasks in flight now. */
  readonly inFlight: readonly string[];
}

/**
 * Creates a runner: claim -> run -> record, up to `concurrency` subtasks at once, in dependency
 * order, with retries and backoff. A failed subtask blocks only what depends on it.
 *
 * @example
 * const runner = createRunner({ session: manager, worker: commandWorker('make -C $SAVEPOINT_ITEM_ID'), concurrency: 4 });
 * const summary = await runner.run();
 */
export function createRunner(options: RunnerOptions): Runner {
  check(options);
  const manager = options.session;
  const state = manager?.currentSession;
  if (manager && !state) {
    throw new RunnerError(
      'NO_SESSION',
      'createRunner needs a session manager with an open session',
    );
  }
  const sessionDir = state ? state.metadata.path : options.workDir!;
  const logsDir = join(sessionDir, 'logs');
  const describeIndex = manager ? manager.index : options.index;
  const concurrency = options.concurrency ?? 1;
  const retries = options.retries ?? 0;
  const backoff = options.backoff ?? ((n: number) => Math.min(5000, 200 * 2 ** (n - 1)));
  // 0 and a limit no timer can hold are no limit.
  const timeoutMs =
    options.timeoutMs === undefined || options.timeoutMs === 0 || options.timeoutMs > MAX_TIMER_MS
      ? undefined
      : options.timeoutMs;
  const tailLines = options.tailLines ?? 20;
  const emit = options.onEvent ?? (() => undefined);
  // Nobody reads the output line by line: it goes straight to the log, and a failure's tail is
  // read back from there.
  const wantLines = options.onEvent !== undefined && options.outputEvents !== false;
  const stop = options.signal ?? new AbortController().signal;
  const source =
    options.source ??
    createSessionSource(manager!, {
      ...(options.scope === undefined ? {} : { scope: options.scope }),
      flush: options.flush ?? 'outcome',
      ...(options.groupCommitMs === undefined ? {} : { groupCommitMs: options.groupCommitMs }),
    });
  const groups = new ProcessGroups(sessionDir);
  const marker = Object.freeze({ [TOKEN_VARIABLE]: groups.token });
  const active = new Map<string, Promise<void>>();
  // The per-attempt abort of each subtask in flight, and the ones whose claim was lost.
  const attempts = new Map<string, AbortController>();
  const lost = new Set<string>();
  const attemptsBefore = new Map<string, number>();
  /** Subtasks in `active` whose attempts are over and whose outcome is being recorded. */
  const recording = new Set<string>();
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  /** The worker part of a subtask is over: its place goes to the next claim. */
  const attemptsOver = (id: string) => {
    recording.add(id);
    wakeUp();
  };
  let liveGroups = 0;
  let groupsGone: (() => void) | undefined;
  let started = false;

  return {
    get inFlight() {
      return [...active.keys()];
    },
    forceStop() {
      groups.killAllSync();
      source.releaseAllSync();
    },
    drop(id) {
      if (!active.has(id)) return false;
      if (!lost.has(id)) {
        lost.add(id);
        attempts.get(id)?.abort(new Error(`the claim on ${id} was lost`));
      }
      return true;
    },
    async run() {
      if (started) throw new TypeError('Runner.run() was already called; create a new runner');
      started = true;
      return runAll();
    },
  };

  async function runAll(): Promise<RunSummary> {
    const summary: RunSummary = {
      completed: [],
      failed: [],
      blocked: new Map(),
      interrupted: false,
      recovered: [],
      reaped: 0,
      errorReport: 'unchanged',
      lost: [],
    };
    if (!manager) {
      try {
        mkdirSync(sessionDir, { recursive: true });
      } catch (cause) {
        throw new RunnerError('IO', `cannot create the work folder ${sessionDir}`, {
          path: sessionDir,
          cause,
        });
      }
    }
    // One listener for the whole run, not one per attempt: the signal reaches every attempt in
    // flight through its own controller.
    const stopAll = () => {
      for (const attempt of attempts.values()) attempt.abort(stop.reason);
    };
    stop.addEventListener('abort', stopAll, { once: true });
    try {
      return await work(summary);
    } finally {
      stop.removeEventListener('abort', stopAll);
    }
  }

  async function work(summary: RunSummary): Promise<RunSummary> {
    // A killed run's processes must be gone before any of its subtasks can run again.
    summary.reaped = await groups.open();
    summary.recovered = await source.open();
    try {
      mkdirSync(logsDir, { recursive: true });
      for (const name of readdirSync(logsDir)) {
        const match = /^(.+)\.(\d+)\.log$/.exec(name);
        if (!match) continue;
        const n = Number(match[2]);
        if (n > (attemptsBefore.get(match[1]!) ?? 0)) attemptsBefore.set(match[1]!, n);
      }
    } catch (cause) {
      throw new RunnerError('IO', `cannot prepare the log folder ${logsDir}`, {
        path: logsDir,
        cause,
      });
    }

    let failure: unknown;
    const track = (item: Subtask) => {
      const work = runItem(item, summary)
        .catch((error) => {
          failure ??= error;
        })
        .finally(() => {
          active.delete(item.id);
          recording.delete(item.id);
          wakeUp();
        });
      active.set(item.id, work);
    };
    try {
      for (;;) {
        // A subtask whose outcome is being written no longer takes a place: the next claim runs
        // meanwhile (the source holds back only what depends on an outcome not yet durable).
        while (
          !stop.aborted &&
          failure === undefined &&
          active.size - recording.size < concurrency
        ) {
          const item = await source.claim();
          if (!item) break;
          track(item);
        }
        if (active.size === 0) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } catch (error) {
      failure ??= error;
      await Promise.allSettled(active.values());
    }
    // Nothing the run started may outlive it.
    while (liveGroups > 0) await new Promise<void>((resolve) => (groupsGone = resolve));
    await groups.close();
    if (failure !== undefined) {
      // The run ends on an error (a disk that filled up, say): what was in flight did not finish,
      // so it goes back to Planned in memory, and a save that can still happen records that.
      source.releaseAllSync();
      throw failure;
    }

    summary.interrupted = stop.aborted;
    if (!manager) return summary;
    if (!summary.interrupted) summary.blocked = blockedSubtasks(manager.index, options.scope);
    if (options.errorReport !== false) {
      summary.errorReport = await syncErrorReport(manager, summary.failed);
    }
    return summary;
  }

  async function runItem(item: Subtask, summary: RunSummary): Promise<void> {
    lost.delete(item.id);
    // A claim that turns out lost: the outcome is not the runner's to record or count.
    const giveUp = async (attempt: number) => {
      lost.delete(item.id);
      await source.release(item.id, 'Planned');
      summary.lost.push(item.id);
      emit({ type: 'lost', item, attempt });
    };
    for (let tries = 1; ; tries++) {
      const attempt = (attemptsBefore.get(item.id) ?? 0) + 1;
      attemptsBefore.set(item.id, attempt);
      const { result, tail, logPath } = await attemptOnce(item, attempt);
      if (lost.has(item.id)) return giveUp(attempt);
      if (stop.aborted) {
        // Interrupted work counts for nothing: the subtask runs again next time.
        await source.release(item.id, 'Planned');
        return;
      }
      if (result.ok) {
        attemptsOver(item.id);
        // A claim lost meanwhile (an expired lease) runs again elsewhere: not counted here.
        if (!(await source.release(item.id, 'Complete'))) {
          summary.lost.push(item.id);
          emit({ type: 'lost', item, attempt });
          return;
        }
        summary.completed.push(item.id);
        emit({ type: 'finished', item, attempts: tries });
        return;
      }
      if (tries > retries) {
        const record: FailureRecord = {
          id: item.id,
          title: item.title,
          attempts: tries,
          exitCode: result.exitCode ?? null,
          signal: result.signal ?? null,
          message: result.message ?? null,
          outputTail: tail,
          logPath,
          at: new Date().toISOString(),
        };
        attemptsOver(item.id);
        if (!(await source.release(item.id, 'Failed'))) {
          summary.lost.push(item.id);
          emit({ type: 'lost', item, attempt });
          return;
        }
        summary.failed.push(record);
        emit({ type: 'failed', item, failure: record });
        return;
      }
      const delayMs = backoff(tries);
      emit({ type: 'retry', item, attempt: tries, result, delayMs });
      await source.mark(item.id, 'Retrying');
      await pause(delayMs, stop);
      if (lost.has(item.id)) return giveUp(attempt);
      if (stop.aborted) {
        await source.release(item.id, 'Planned');
        return;
      }
      await source.mark(item.id, 'Implementing');
    }
  }

  async function attemptOnce(
    item: Subtask,
    attempt: number,
  ): Promise<{ result: WorkResult; tail: string; logPath: string }> {
    const base = `${logsDir}/${fileSafe(item.id)}`;
    const logPath = `${base}.${attempt}.log`;
    const previousLogPath = attempt > 1 ? `${base}.${attempt - 1}.log` : null;
    // The log is written with plain synchronous writes to a descriptor opened here: small writes
    // to the page cache, with no hop through the thread pool to open, write and close a stream.
    // It is never fsynced: it records output for people to read, no outcome depends on it, and an
    // attempt a crash cut short runs again under the next number.
    let logError: unknown;
    let logFd: number | undefined;
    try {
      logFd = openSync(logPath, 'w');
    } catch (error) {
      logError = error;
    }
    const writeLog = (chunk: string | Uint8Array) => {
      if (logFd === undefined || logError !== undefined) return;
      try {
        if (typeof chunk === 'string') writeSync(logFd, chunk);
        else writeSync(logFd, chunk);
      } catch (error) {
        logError = error;
      }
    };
    const lines: string[] = [];
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const takeLine = (line: string) => {
      lines.push(line);
      if (lines.length > tailLines) lines.shift();
      emit({ type: 'output', item, attempt, line });
    };
    const attemptStop = new AbortController();
    attempts.set(item.id, attemptStop);
    if (lost.has(item.id)) attemptStop.abort(new Error(`the claim on ${item.id} was lost`));
    if (stop.aborted) attemptStop.abort(stop.reason);
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            attemptStop.abort(new Error(`timed out after ${timeoutMs} ms`));
          }, timeoutMs);

    const context: WorkerContext = {
      attempt,
      sessionDir,
      logPath,
      previousLogPath,
      marker,
      details: describeIndex
        ? describeItem(describeIndex, item, { attempt, previousLog: previousLogPath, sessionDir })
        : describeWithoutIndex(item, { attempt, previousLog: previousLogPath, sessionDir }),
      logFd: wantLines ? null : (logFd ?? null),
      output(text) {
        if (!wantLines) {
          writeLog(text);
          return;
        }
        const chunk = typeof text === 'string' ? text : decoder.write(Buffer.from(text));
        writeLog(chunk);
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const part of parts) takeLine(part.endsWith('\r') ? part.slice(0, -1) : part);
      },
      trackProcessGroup(pgid) {
        liveGroups += 1;
        groups.add(pgid, item.id);
        let done = false;
        return () => {
          if (done) return;
          done = true;
          groups.delete(pgid);
          liveGroups -= 1;
          if (liveGroups === 0) groupsGone?.();
        };
      },
    };

    emit({ type: 'started', item, attempt, logPath });
    let result: WorkResult;
    try {
      result = (await options.worker(item, context, attemptStop.signal)) ?? { ok: true };
    } catch (error) {
      if (error instanceof RunnerError && error.code === 'IO') throw error;
      result = { ok: false, message: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
      attempts.delete(item.id);
    }
    if (timedOut) {
      result = { ...result, ok: false, message: `timed out after ${timeoutMs} ms` };
    }
    if (wantLines) {
      const rest = partial + decoder.end();
      if (rest) takeLine(rest);
    }
    if (logFd !== undefined) {
      try {
        closeSync(logFd);
      } catch (error) {
        logError ??= error;
      }
    }
    if (logError) {
      throw new RunnerError('IO', `cannot write the log ${logPath}`, {
        path: logPath,
        itemId: item.id,
        cause: logError,
      });
    }
    // Without line events the tail is needed only for a failure's record.
    const tail = wantLines ? lines.join('\n') : result.ok ? '' : logTail(logPath, tailLines);
    return { result, tail, logPath };
  }
}

/** Bytes at the end of a log read back for a failure's output tail. */
const TAIL_BYTES = 64 * 1024;

/** The last `count` lines of a log (a last line without a newline counts), read from its end. */
function logTail(path: string, count: number): string {
  if (count === 0) return '';
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, size - length);
    text = buffer.subarray(0, read).toString('utf8');
    // Cut at a line start unless the whole log was read.
    if (length < size) text = text.slice(text.indexOf('\n') + 1);
  } catch (cause) {
    throw new RunnerError('IO', `cannot read the log ${path}`, { path, cause });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines
    .slice(-count)
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .join('\n');
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // A pause longer than a timer holds waits as long as one can (about 24.8 days).
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    signal.addEventListener('abort', done, { once: true });
  });
}

function fileSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

function check(options: RunnerOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createRunner expected an options object, got ${String(options)}`);
  }
  if (options.session === undefined) {
    if (options.source === undefined) {
      throw new TypeError('createRunner expected a session, or a source to work from without one');
    }
    if (typeof options.workDir !== 'string' || options.workDir === '') {
      throw new TypeError(
        `createRunner expected workDir (a folder for logs/ and workers.json) with a source and no session, got ${String(options.workDir)}`,
      );
    }
  }
  if (typeof options.worker !== 'function') {
    throw new TypeError(
      `createRunner expected worker to be a function (use commandWorker(cmd) for a command), got ${typeof options.worker}`,
    );
  }
  for (const [name, min] of [
    ['concurrency', 1],
    ['retries', 0],
    ['timeoutMs', 0],
    ['tailLines', 0],
    ['groupCommitMs', 0],
  ] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min)) {
      throw new TypeError(
        `createRunner expected ${name} to be a whole number of ${min} or more, got ${String(value)}`,
      );
    }
  }
}
