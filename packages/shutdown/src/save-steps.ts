import type { ForceHook, Shutdown, ShutdownHook } from './types.ts';

/** One step of {@link onShutdownSave}: a hook, or a hook with its name and own timeout. */
export type SaveStep = ShutdownHook | { run: ShutdownHook; name?: string; timeoutMs?: number };

/**
 * The steps that save a pipeline's progress on shutdown, each optional. {@link onShutdownSave}
 * registers them in this order, whatever the order of the keys.
 */
export interface SaveSteps {
  /** Stops the work in flight and lets it record where it stopped (awaits the runner). */
  readonly stop?: SaveStep;
  /** Writes the pending updates: they hold the newest statuses. */
  readonly flush?: SaveStep;
  /** Saves the whole state (the backlog). */
  readonly save?: SaveStep;
  /** Reports the progress; it comes after the saves, so it reports what is on disk. */
  readonly summary?: SaveStep;
  /** Lets go of what the process holds: a session lock, a database connection. */
  readonly release?: SaveStep;
  /** A synchronous last resort before a forced exit (a second signal, a missed deadline). */
  readonly force?: ForceHook;
}

const ORDER = ['stop', 'flush', 'save', 'summary', 'release'] as const;
const NAMES: Record<(typeof ORDER)[number], string> = {
  stop: 'stop the work',
  flush: 'flush pending updates',
  save: 'save backlog',
  summary: 'print the progress summary',
  release: 'release',
};

/**
 * Registers the shutdown hooks that keep a pipeline's progress, in the order that keeps it safe:
 * stop the work, flush pending updates, save the backlog, then the summary, then release. A step
 * without a name is named `stop the work`, `flush pending updates`, `save backlog`, `print the
 * progress summary` or `release`. Returns a function that unregisters every one of them.
 *
 * @example
 * onShutdownSave(shutdown, {
 *   stop: { run: () => running, name: 'stop the workers', timeoutMs: 5000 },
 *   flush: () => sessions.flushUpdates(),
 *   save: () => sessions.saveBacklog(sessions.currentSession!.taskRegistry),
 *   summary: () => console.log('Interrupted; progress saved.'),
 *   release: () => sessions.close(),
 *   force: () => (runner.forceStop(), sessions.flushSync()),
 * });
 */
export function onShutdownSave(
  shutdown: Pick<Shutdown, 'onShutdown' | 'onForce'>,
  steps: SaveSteps,
): () => void {
  const undo: (() => void)[] = [];
  for (const key of ORDER) {
    const step = steps[key];
    if (step === undefined) continue;
    const { run, ...options } = typeof step === 'function' ? { run: step } : step;
    undo.push(shutdown.onShutdown(run, { name: NAMES[key], ...options }));
  }
  if (steps.force !== undefined) undo.push(shutdown.onForce(steps.force));
  return () => {
    for (const remove of undo) remove();
  };
}

/** How work awaited by {@link settleWork} ended. */
export type SettledWork<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly exitCode: number };

/**
 * Awaits `work` (started with `shutdown.signal`) and says how it ended: `{ done: true, value }`
 * when it ended by itself, or `{ done: false, exitCode }` when a shutdown began meanwhile, once
 * its hooks have run (the exit code it leads to). An error of the work rejects when no shutdown is
 * running; during one, the error is the hooks' business and the exit code is returned.
 *
 * @example
 * const outcome = await settleWork(shutdown, runner.run());
 * if (!outcome.done) return outcome.exitCode; // the hooks saved everything
 * shutdown.dispose();
 * report(outcome.value);
 */
export async function settleWork<T>(
  shutdown: Pick<Shutdown, 'isShuttingDown' | 'done' | 'exitCode'>,
  work: Promise<T>,
): Promise<SettledWork<T>> {
  let value: T;
  try {
    value = await work;
  } catch (error) {
    if (!shutdown.isShuttingDown) throw error;
    return { done: false, exitCode: await exitCodeOf(shutdown) };
  }
  if (shutdown.isShuttingDown) return { done: false, exitCode: await exitCodeOf(shutdown) };
  return { done: true, value };
}

async function exitCodeOf(shutdown: Pick<Shutdown, 'done' | 'exitCode'>): Promise<number> {
  await shutdown.done;
  return shutdown.exitCode() ?? 1;
}
