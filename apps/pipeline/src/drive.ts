import {
  commandWorker,
  formatRunnerEvent,
  type RunConfig,
  type RunnerEvent,
  simulatedWorker,
  type Worker,
} from '@savepoint/runner';
import {
  createShutdown,
  onShutdownSave,
  type SaveSteps,
  type Shutdown,
  settleWork,
} from '@savepoint/shutdown';

/** How long a worker's process group gets between SIGTERM and SIGKILL. */
export const GRACE_MS = 2000;

/** What {@link drive} hands the work it starts. */
export interface WorkContext {
  worker: Worker;
  signal: AbortSignal;
  /** Whether the work should emit `output` events (only when they are printed). */
  outputEvents: boolean;
  onEvent(event: RunnerEvent, workerId?: string): void;
}

/** How {@link drive} works a session: a runner on a held session, or workers of a shared one. */
export interface DriveOptions<T> {
  config: RunConfig;
  simulateMs: number | undefined;
  output: 'stream' | 'quiet';
  /** Writes a message line (stderr, past the progress display). */
  say(message: string): void;
  /** Starts the work; its `run()` is awaited under the shutdown. */
  start(context: WorkContext): { run(): Promise<T>; forceStop(): void };
  /** Each event, before its message (a progress display's updates). */
  onEvent?(event: RunnerEvent): void;
  /** Shown in retry messages as `retry 1 of N`. */
  retries?: number;
  /** The name of the shutdown step that waits for the work to stop. */
  stopName: string;
  /** The shutdown steps after the work has stopped, in @savepoint/shutdown's save order. */
  steps(shutdown: Shutdown): Omit<SaveSteps, 'stop' | 'force'>;
  /** More to do on a forced exit, after the work was killed. */
  force?(): void;
  /** Clean-up when the work fails with no shutdown running. */
  cleanup?(): Promise<void>;
}

/**
 * Works a session under a shutdown: SIGINT/SIGTERM/SIGHUP stop the work, run the save steps in
 * order and exit 130/143/129 from the hooks (the exit code is returned once they ran). Events are
 * printed as @savepoint/runner formats them. When the work ends by itself, its summary is returned
 * with the shutdown still armed (for a QA step); dispose it when done.
 */
export async function drive<T>(
  options: DriveOptions<T>,
): Promise<{ summary: T; shutdown: Shutdown } | number> {
  const { config, say } = options;
  const shutdown = createShutdown({
    timeoutMs: GRACE_MS + 28_000,
    // Sentences only: the details objects the library passes along are for structured loggers.
    logger: { warn: (message) => say(message), error: (message) => say(message) },
  });
  const work = options.start({
    worker:
      options.simulateMs !== undefined
        ? simulatedWorker(options.simulateMs)
        : commandWorker(config.exec!, { graceMs: GRACE_MS }),
    signal: shutdown.signal,
    // Quiet output is only logged: the command then writes to its log with no pipe between.
    outputEvents: options.output === 'stream',
    onEvent: (event, workerId) => {
      options.onEvent?.(event);
      const text = formatRunnerEvent(event, { retries: options.retries, workerId });
      if (text !== undefined) say(text);
    },
  });
  const running = work.run();
  // Order matters: the workers stop (their subtasks go back) before the state is written.
  onShutdownSave(shutdown, {
    stop: {
      run: () => running.catch(() => undefined),
      name: options.stopName,
      timeoutMs: GRACE_MS + 3000,
    },
    ...options.steps(shutdown),
    force: () => {
      // A second signal: no time for the workers to stop cleanly. End them, write what is known.
      work.forceStop();
      options.force?.();
    },
  });
  const outcome = await settleWork(shutdown, running).catch(async (error: unknown) => {
    shutdown.dispose();
    await options.cleanup?.();
    throw error;
  });
  return outcome.done ? { summary: outcome.value, shutdown } : outcome.exitCode;
}
