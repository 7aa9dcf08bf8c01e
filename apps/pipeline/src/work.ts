import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  commandWorker,
  parseRunConfig,
  type RunConfig,
  type RunnerEvent,
  simulatedWorker,
} from '@savepoint/runner';
import { readSession } from '@savepoint/session';
import { createShutdown } from '@savepoint/shutdown';
import { type PostgresStore, workSharedSession } from '@savepoint/store-postgres';
import { createBacklogIndex, summarizeCounts } from '@savepoint/task-schema';
import { CliError } from './errors.ts';
import type { Io } from './run.ts';

/** How long a worker's process group gets between SIGTERM and SIGKILL. */
const GRACE_MS = 2000;
/** The lease of a claim unless `--lease-ms` says otherwise. */
export const DEFAULT_LEASE_MS = 30_000;

/** How this process works a shared session. */
export interface SharedRunOptions {
  /** Worker slots of this process. */
  concurrency: number;
  leaseMs: number;
  simulateMs: number | undefined;
  /** The local folder under which `workers/<session>/<host>-<pid>-<n>/` holds logs. */
  planDir: string;
  output: 'stream' | 'quiet';
  json: boolean;
  /** The opening line, printed on stderr. */
  opening: string;
}

/** The session's stored run configuration (its run.json artifact), `{}` when it has none. */
export async function storedRunConfig(store: PostgresStore, id: string): Promise<RunConfig> {
  const text = await store.readArtifact(id, 'run.json');
  return text === null ? {} : parseRunConfig(text, `run.json of session ${id}`);
}

/**
 * Works session `id` of the PostgreSQL store with `concurrency` worker slots until nothing in
 * scope can become ready any more. SIGINT/SIGTERM give the subtasks held back at once and exit
 * 130/143 from the shutdown hooks. Returns 1 when subtasks in scope are Failed, else 0.
 */
export async function workShared(
  store: PostgresStore,
  id: string,
  config: RunConfig,
  options: SharedRunOptions,
  io: Io,
): Promise<number> {
  const snapshot = await readSession(id, { store });
  const index = createBacklogIndex(snapshot.backlog);
  if (config.scope !== undefined && !index.has(config.scope)) {
    throw new CliError(`unknown scope '${config.scope}': no item with that id in session ${id}`);
  }
  const say = (message: string) => io.stderr.write(`${message}\n`);

  const shutdown = createShutdown({
    timeoutMs: GRACE_MS + 28_000,
    logger: { warn: say, error: say },
  });
  const work = workSharedSession({
    store,
    session: id,
    worker:
      options.simulateMs !== undefined
        ? simulatedWorker(options.simulateMs)
        : commandWorker(config.exec!, { graceMs: GRACE_MS }),
    workerId: `${hostname()}/${process.pid}`,
    concurrency: options.concurrency,
    workDir: join(options.planDir, 'workers', id),
    leaseMs: options.leaseMs,
    retries: config.retries ?? 2,
    ...(config.scope === undefined ? {} : { scope: config.scope }),
    ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
    signal: shutdown.signal,
    index,
    onEvent: (event, worker) => report(event, worker),
    outputEvents: options.output === 'stream',
  });
  say(options.opening);
  const running = work.run();
  shutdown.onShutdown(() => running.catch(() => undefined), {
    name: 'stop the workers and give their subtasks back',
    timeoutMs: GRACE_MS + 3000,
  });
  shutdown.onShutdown(
    () => {
      const line = `Interrupted: the subtasks this process held were given back; session ${id} goes on with the other workers.`;
      io.stdout.write(
        options.json
          ? `${JSON.stringify({ session: id, interrupted: true, exitCode: shutdown.exitCode() })}\n`
          : `${line}\n`,
      );
    },
    { name: 'print the summary' },
  );
  shutdown.onShutdown(() => store.close(), { name: 'close the store' });
  shutdown.onForce(() => work.forceStop());

  let summary: Awaited<typeof running> | undefined;
  try {
    summary = await running;
  } catch (error) {
    if (!shutdown.isShuttingDown) {
      shutdown.dispose();
      throw error;
    }
  }
  if (shutdown.isShuttingDown || !summary || summary.interrupted) {
    await shutdown.done;
    return shutdown.exitCode() ?? 1;
  }
  shutdown.dispose();
  if (summary.reaped > 0) say(`Ended ${summary.reaped} process(es) left by a killed worker`);
  const counts = summarizeCounts(summary.counts);
  const exitCode = counts.failed > 0 ? 1 : 0;
  const mine = {
    completed: summary.completed.length,
    failed: summary.failed.map(({ id: item, attempts, exitCode: code }) => ({
      id: item,
      attempts,
      exitCode: code,
    })),
    lost: summary.lost,
  };
  if (options.json) {
    io.stdout.write(
      `${JSON.stringify({ session: id, scope: config.scope ?? null, ...counts, thisProcess: mine, exitCode })}\n`,
    );
  } else {
    io.stdout.write(
      `${exitCode === 0 ? 'Done.' : 'Finished with failures.'} Session ${id}: ${counts.completed}/${counts.total} complete, ${counts.failed} failed, ${counts.remaining} remaining` +
        ` (this process: ${mine.completed} completed, ${mine.failed.length} failed, ${mine.lost.length} lost).\n`,
    );
  }
  return exitCode;

  function report(event: RunnerEvent, worker: string): void {
    const item = event.item.id;
    if (event.type === 'output' && options.output === 'stream') say(`[${item}] ${event.line}`);
    else if (event.type === 'retry') {
      say(`${item} failed (${event.result.message ?? 'failed'}), retry ${event.attempt}`);
    } else if (event.type === 'failed') {
      const { failure } = event;
      say(
        [
          `${item} failed after ${failure.attempts} attempt(s) (${failure.message ?? 'failed'})`,
          ...failure.outputTail
            .split('\n')
            .filter(Boolean)
            .slice(-5)
            .map((line) => `  | ${line}`),
          ...(failure.logPath ? [`  log: ${failure.logPath}`] : []),
        ].join('\n'),
      );
    } else if (event.type === 'lost') {
      say(
        `${item}: lease lost by ${worker} (it stalled past its lease; another worker may run it): stopped, nothing recorded`,
      );
    }
  }
}
