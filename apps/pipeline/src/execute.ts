import { createRenderer, ProgressTracker, prefixGroups, summaryLine } from '@savepoint/progress';
import type { SessionManager, SessionState } from '@savepoint/session';
import { createShutdown, type Shutdown } from '@savepoint/shutdown';
import type { Status, Subtask } from '@savepoint/task-schema';
import type { ExecutionOptions } from './args.ts';
import { syncErrorReport } from './error-report.ts';
import { resumeCommand } from './hint.ts';
import { type FailureRecord, testResults } from './report.ts';
import { runShellCommand, simulateWork, type WorkerResult } from './worker.ts';

/** Where the runner writes: progress and messages go to `stderr`, results to `stdout`. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/** What a finished (not interrupted) run reports. */
export interface RunOutcome {
  exitCode: number;
  result: Record<string, unknown>;
}

/** How long a worker gets between SIGTERM and SIGKILL when the run is stopped. */
const WORKER_GRACE_MS = 3000;
const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 5000;

/**
 * Works through the session's subtasks in dependency order until none is ready, saving after each
 * one. On SIGINT/SIGTERM/SIGHUP the in-flight subtask is stopped and returned to Planned, then the
 * pending updates are flushed, the backlog saved and the summary printed, in that order, and the
 * process exits 130/143/129. Returns only when the run ends by itself.
 */
export async function executeSession(
  manager: SessionManager,
  state: SessionState,
  options: ExecutionOptions,
  io: Io,
): Promise<RunOutcome> {
  const session = state.metadata;
  const index = manager.index;
  const scope = options.scope;

  // Subtasks a killed run left Researching/Implementing/Retrying start over.
  const recovered = manager.recoverInFlight();

  const counts = index.countByStatus(scope);
  const total = sumCounts(counts) - counts.Obsolete;
  const tracker = new ProgressTracker({
    total,
    completed: counts.Complete,
    groupOf: prefixGroups({ levels: 2 }),
  });
  // The opening line comes before the first progress line; the summary is printed once, on stdout.
  io.stderr.write(
    `${state.isNew ? (state.isDelta ? 'New delta session' : 'New session') : 'Resuming session'} ${session.id}` +
      (state.isDelta && session.parentSession ? ` (parent ${session.parentSession})` : '') +
      (scope ? `, scope ${scope}` : '') +
      '\n',
  );
  let stopped = false;
  const renderer = createRenderer({
    stream: {
      write: (chunk: string) => stopped || io.stderr.write(chunk),
      isTTY: io.stderr.isTTY ?? false,
      ...(io.stderr.columns === undefined ? {} : { columns: io.stderr.columns }),
    },
    tracker,
    mode: options.progress,
    env: io.env,
  });
  const stopRenderer = () => {
    if (renderer.kind === 'plain') stopped = true;
    renderer.stop();
  };
  const say = (message: string) =>
    stopped ? io.stderr.write(`${message}\n`) : renderer.log(message);
  if (recovered.length > 0) {
    say(`Returned ${recovered.length} interrupted subtask(s) to Planned: ${recovered.join(', ')}`);
  }

  const failures: FailureRecord[] = [];
  const failedThisRun = new Set<string>();
  let inFlight: Subtask | undefined;
  let interrupted = false;

  const shutdown = createShutdown({
    timeoutMs: WORKER_GRACE_MS + 27_000,
    // Sentences only: the details objects the library passes along are for structured loggers.
    logger: { warn: (message) => say(message), error: (message) => say(message) },
  });
  const loop = runLoop();
  registerShutdownHooks(shutdown);

  await loop.catch(() => undefined);
  if (shutdown.isShuttingDown) {
    // The hooks save everything and exit the process with 130/143/129.
    await shutdown.done;
    return { exitCode: shutdown.exitCode() ?? 1, result: {} };
  }
  try {
    await loop;
    return await finish();
  } finally {
    shutdown.dispose();
  }

  async function runLoop(): Promise<void> {
    const stop = shutdown.signal;
    while (!stop.aborted) {
      const next = index.nextReady({ scope, skip: (s) => failedThisRun.has(s.id) });
      if (!next) break;
      inFlight = next;
      manager.setCurrentItem(next.id);
      await setStatus(next.id, 'Researching');
      tracker.start(next.id, { title: next.title });
      await setStatus(next.id, 'Implementing');

      let attempt = 0;
      let result: WorkerResult;
      for (;;) {
        attempt += 1;
        result = await work(next, attempt, stop);
        if (result.aborted || result.exitCode === 0 || attempt > options.retries) break;
        await setStatus(next.id, 'Retrying');
        say(
          `${next.id} failed (exit ${describeExit(result)}), retry ${attempt} of ${options.retries}`,
        );
        await backoff(attempt, stop);
        if (stop.aborted) break;
        await setStatus(next.id, 'Implementing');
      }
      if (result.aborted || stop.aborted) {
        // Interrupted work counts for nothing: the subtask runs again on resume.
        await setStatus(next.id, 'Planned');
        interrupted = true;
        inFlight = undefined;
        break;
      }
      if (result.exitCode === 0) {
        await setStatus(next.id, 'Complete');
        tracker.complete(next.id, { title: next.title });
      } else {
        await setStatus(next.id, 'Failed');
        failedThisRun.add(next.id);
        tracker.fail(next.id, { title: next.title });
        failures.push({
          id: next.id,
          title: next.title,
          attempts: attempt,
          exitCode: result.exitCode,
          signal: result.signal,
          outputTail: result.outputTail,
          at: new Date().toISOString(),
        });
        say(`${next.id} failed after ${attempt} attempt(s) (exit ${describeExit(result)})`);
      }
      inFlight = undefined;
      manager.setCurrentItem(null);
      await manager.flushUpdates();
    }
  }

  function work(subtask: Subtask, attempt: number, signal: AbortSignal): Promise<WorkerResult> {
    if (options.exec === undefined) return simulateWork(options.simulateMs, signal);
    return runShellCommand(options.exec, {
      env: {
        SAVEPOINT_ITEM_ID: subtask.id,
        SAVEPOINT_ITEM_TITLE: subtask.title,
        SAVEPOINT_SESSION_DIR: session.path,
        SAVEPOINT_ATTEMPT: String(attempt),
      },
      signal,
      graceMs: WORKER_GRACE_MS,
    });
  }

  async function setStatus(id: string, status: Status): Promise<void> {
    manager.updateItemStatus(id, status);
    if (options.flush === 'change') await manager.flushUpdates();
  }

  function registerShutdownHooks(controller: Shutdown): void {
    // Order matters: the worker must be stopped and its subtask returned to Planned before the
    // state is written; pending updates are flushed before the backlog is saved; the summary
    // comes last so it reports what is on disk.
    controller.onShutdown(() => loop.catch(() => undefined), {
      name: 'stop the worker',
      timeoutMs: WORKER_GRACE_MS + 2000,
    });
    controller.onShutdown(() => manager.flushUpdates(), { name: 'flush pending updates' });
    controller.onShutdown(
      async () => {
        const backlog = manager.currentSession?.taskRegistry;
        if (backlog) await manager.saveBacklog(backlog);
      },
      { name: 'save backlog' },
    );
    controller.onShutdown(() => syncErrorReport(manager, failures), {
      name: 'update the error report',
    });
    controller.onShutdown(
      () => {
        stopRenderer();
        const progress = tracker.getProgress();
        const hint = resumeCommand({ ...options, session: session.id }, io.env);
        const line = `Interrupted. ${summaryLine(progress)}. Resume with: ${hint}`;
        if (options.json) {
          io.stdout.write(
            `${JSON.stringify({ ...resultObject(), interrupted: true, exitCode: controller.exitCode(), resume: hint })}\n`,
          );
        } else {
          io.stdout.write(`${line}\n`);
        }
      },
      { name: 'print the progress summary' },
    );
    controller.onShutdown(() => manager.close(), { name: 'release the session lock' });
    controller.onForce(() => {
      // Second signal: no time for the worker to stop cleanly. Write what is known, synchronously.
      if (inFlight) {
        try {
          manager.updateItemStatus(inFlight.id, 'Planned');
        } catch {
          // The state is still flushed below; resume returns in-flight items to Planned anyway.
        }
      }
      manager.flushSync();
      stopRenderer();
    });
  }

  async function finish(): Promise<RunOutcome> {
    manager.setCurrentItem(null);
    await manager.flushUpdates();

    const blocked = blockedSubtasks();
    let qaFailed = false;
    const report = await syncErrorReport(manager, failures);
    if (report !== 'unchanged')
      say(`${report === 'written' ? 'Wrote' : 'Removed'} ${session.path}/ERROR_REPORT.md`);
    const everything = index.countByStatus();
    const allDone = everything.Complete + everything.Obsolete === sumCounts(everything);
    let qaRan = false;
    if (options.qa !== undefined && allDone && !interrupted) {
      qaRan = true;
      const qa = await runShellCommand(options.qa, {
        env: { SAVEPOINT_SESSION_DIR: session.path },
        signal: shutdown.signal,
        tailBytes: 64 * 1024,
      });
      if (qa.aborted) {
        // A signal arrived during QA: the shutdown hooks save and exit; QA runs again next time.
        await shutdown.done;
      } else if (qa.exitCode !== 0) {
        qaFailed = true;
        await manager.writeArtifact(
          'TEST_RESULTS.md',
          testResults(options.qa, qa.exitCode, qa.outputTail),
        );
        say(`QA failed (exit ${describeExit(qa)}); wrote ${session.path}/TEST_RESULTS.md`);
      }
    }
    const backlog = manager.currentSession?.taskRegistry;
    if (backlog) await manager.saveBacklog(backlog);
    const exitCode = failures.length > 0 || qaFailed ? 1 : 0;
    const result = {
      ...resultObject(),
      blocked: [...blocked.keys()],
      qa: qaRan ? (qaFailed ? 'failed' : 'passed') : 'skipped',
      exitCode,
    };
    stopRenderer();
    await manager.close();
    if (options.json) {
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const progress = tracker.getProgress();
      const tail =
        (blocked.size > 0 ? ` ${blocked.size} subtask(s) blocked by failures.` : '') +
        (qaFailed ? ` QA failed: see ${session.path}/TEST_RESULTS.md.` : '');
      io.stdout.write(
        `${exitCode === 0 ? 'Done.' : 'Finished with failures.'} ${summaryLine(progress)}.${tail}\n`,
      );
    }
    return { exitCode, result };
  }

  /** Subtasks in scope that are not done and wait, directly or not, on something that failed. */
  function blockedSubtasks(): Map<string, string[]> {
    const blocked = new Map<string, string[]>();
    for (const subtask of index.subtasks(scope)) {
      if (subtask.status === 'Complete' || subtask.status === 'Obsolete') continue;
      if (subtask.status === 'Failed') continue;
      const waits = index.blockers(subtask.id);
      if (waits.length > 0) blocked.set(subtask.id, waits);
    }
    return blocked;
  }

  function resultObject(): Record<string, unknown> {
    const counts = index.countByStatus(scope);
    const all = sumCounts(counts) - counts.Obsolete;
    const remaining = all - counts.Complete - counts.Failed;
    return {
      session: session.id,
      sessionDir: session.path,
      scope: scope ?? null,
      total: all,
      completed: counts.Complete,
      failed: counts.Failed,
      remaining,
      percentage: all === 0 ? 100 : round1((counts.Complete / all) * 100),
      currentItemId: manager.getCurrentItem(),
      byStatus: counts,
      failedItems: failures.map(({ id, attempts, exitCode }) => ({ id, attempts, exitCode })),
      recovered,
    };
  }
}

export function sumCounts(counts: Record<Status, number>): number {
  let sum = 0;
  for (const value of Object.values(counts)) sum += value;
  return sum;
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function describeExit(result: WorkerResult): string {
  return result.signal ? `signal ${result.signal}` : String(result.exitCode);
}

async function backoff(attempt: number, signal: AbortSignal): Promise<void> {
  const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
