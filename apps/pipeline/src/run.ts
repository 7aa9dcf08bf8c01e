import { createRenderer, ProgressTracker, prefixGroups, summaryLine } from '@savepoint/progress';
import {
  createRunner,
  formatInterruptedRun,
  formatRunOpening,
  formatRunReport,
  interruptedRunReport,
  type QaOutcome,
  type RunConfig,
  type RunReportInput,
  type RunSummary,
  runQaStep,
  runReport,
  runSummaryLines,
} from '@savepoint/runner';
import type { SessionManager } from '@savepoint/session';
import { summarizeCounts } from '@savepoint/task-schema';
import type { ExecutionOptions } from './args.ts';
import { drive, GRACE_MS } from './drive.ts';
import { resumeCommand } from './hint.ts';

/** Where the CLI writes: progress and messages go to `stderr`, results to `stdout`. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/**
 * Runs the open session with `config` until nothing is ready, then QA, reports and the summary.
 * On SIGINT/SIGTERM/SIGHUP the workers are stopped and their subtasks returned to Planned, then
 * updates are flushed, the backlog saved and the summary printed, and the process exits
 * 130/143/129 from the shutdown hooks. Returns the exit code when the run ends by itself.
 */
export async function runSession(
  manager: SessionManager,
  config: RunConfig,
  options: ExecutionOptions,
  io: Io,
): Promise<number> {
  const state = manager.currentSession!;
  const session = state.metadata;
  const index = manager.index;
  const scope = config.scope;

  const counts = index.countByStatus(scope);
  const tracker = new ProgressTracker({
    total: summarizeCounts(counts).total,
    completed: counts.Complete,
    groupOf: prefixGroups({ levels: 2 }),
  });
  // The opening line comes before the first progress line; the summary is printed once, on stdout,
  // so the plain renderer writes no closing line of its own.
  io.stderr.write(`${formatRunOpening(state, { scope, concurrency: config.concurrency })}\n`);
  const renderer = createRenderer({
    stream: {
      write: (chunk: string) => io.stderr.write(chunk),
      isTTY: io.stderr.isTTY ?? false,
      ...(io.stderr.columns === undefined ? {} : { columns: io.stderr.columns }),
    },
    tracker,
    mode: options.progress,
    env: io.env,
    summary: false,
  });
  const say = (message: string) => renderer.log(message);

  const driven = await drive<RunSummary>({
    config,
    simulateMs: options.simulateMs,
    output: options.output,
    say,
    retries: config.retries ?? 2,
    start: (context) =>
      createRunner({
        session: manager,
        ...context,
        concurrency: config.concurrency ?? 1,
        retries: config.retries ?? 2,
        ...(scope === undefined ? {} : { scope }),
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
        flush: options.flush === 'change' ? 'change' : 'outcome',
      }),
    onEvent: (event) => {
      const { id, title } = event.item;
      if (event.type === 'started') tracker.start(id, { title });
      else if (event.type === 'finished') tracker.complete(id, { title });
      else if (event.type === 'failed') tracker.fail(id, { title });
    },
    stopName: 'stop the workers',
    // Pending updates are flushed before the backlog is saved; the summary comes last so it
    // reports what is on disk.
    steps: (shutdown) => ({
      flush: () => manager.flushUpdates(),
      save: () => saveBacklog(manager),
      summary: () => {
        renderer.stop();
        const resume = resumeCommand({ ...options, session: session.id }, io.env);
        io.stdout.write(
          options.json
            ? `${JSON.stringify(interruptedRunReport(where(), shutdown.exitCode(), resume))}\n`
            : `${formatInterruptedRun(summaryLine(tracker.getProgress()), resume)}\n`,
        );
      },
      release: { run: () => manager.close(), name: 'release the session lock' },
    }),
    force: () => {
      manager.flushSync();
      renderer.stop();
    },
    cleanup: async () => {
      renderer.stop();
      await manager.close().catch(() => undefined);
    },
  });
  if (typeof driven === 'number') return driven;
  const { shutdown } = driven;
  try {
    return await finish(driven.summary);
  } finally {
    shutdown.dispose();
  }

  async function finish(done: RunSummary): Promise<number> {
    for (const line of runSummaryLines(done, session.path)) say(line);
    const everything = summarizeCounts(index.countByStatus());
    const allDone = everything.completed === everything.total;
    let qa: QaOutcome = 'skipped';
    if (options.qa !== undefined && allDone) {
      const result = await runQaStep(manager, options.qa, {
        signal: shutdown.signal,
        graceMs: GRACE_MS,
      });
      if (result.status === 'aborted') {
        // A signal arrived during QA: the hooks save and exit; QA runs again next time.
        await shutdown.done;
        return shutdown.exitCode() ?? 1;
      }
      qa = result.status;
      if (qa === 'failed') {
        say(`QA failed (exit ${result.signal ?? result.exitCode}); wrote ${result.testResults}`);
      }
    }
    manager.setCurrentItem(null);
    await saveBacklog(manager);
    const result = runReport(where(), done, qa);
    renderer.stop();
    await manager.close();
    io.stdout.write(
      options.json
        ? `${JSON.stringify(result)}\n`
        : `${formatRunReport(result, summaryLine(tracker.getProgress()))}\n`,
    );
    return result.exitCode;
  }

  /** Where the run stands now, for its report. */
  function where(): RunReportInput {
    return {
      session: session.id,
      sessionDir: session.path,
      scope,
      counts: index.countByStatus(scope),
      currentItemId: manager.getCurrentItem(),
    };
  }
}

async function saveBacklog(manager: SessionManager): Promise<void> {
  const backlog = manager.currentSession?.taskRegistry;
  if (backlog) await manager.saveBacklog(backlog);
}
