import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RunConfig } from '@savepoint/runner';
import { readSession } from '@savepoint/session';
import {
  formatSharedWorkInterrupted,
  formatSharedWorkReport,
  type SharedWorkSummary,
  sharedWorkInterruptedReport,
  sharedWorkReport,
  sharedWorkSummaryLines,
  workSharedSession,
} from '@savepoint/store-postgres';
import { createBacklogIndex } from '@savepoint/task-schema';
import type { ExecutionOptions } from './args.ts';
import { drive } from './drive.ts';
import { CliError } from './errors.ts';
import type { Io } from './run.ts';
import type { PostgresOpen } from './store.ts';

/** The lease of a claim unless `--lease-ms` says otherwise. */
export const DEFAULT_LEASE_MS = 30_000;

/** How this process works a shared session. */
export interface SharedRunOptions extends Pick<ExecutionOptions, 'simulateMs' | 'output' | 'json'> {
  /** Worker slots of this process. */
  concurrency: number;
  leaseMs: number;
  /** The opening line, printed on stderr. */
  opening: string;
}

/**
 * Works session `id` of the PostgreSQL store with `concurrency` worker slots (logs under
 * `<plan-dir>/workers/<id>/`) until nothing in
 * scope can become ready any more. SIGINT/SIGTERM give the subtasks held back at once and exit
 * 130/143 from the shutdown hooks. Returns 1 when subtasks in scope are Failed, else 0.
 */
export async function workShared(
  { store, planDir }: PostgresOpen,
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
  const driven = await drive<SharedWorkSummary>({
    config,
    simulateMs: options.simulateMs,
    output: options.output,
    say,
    start: (context) => {
      const work = workSharedSession({
        store,
        session: id,
        ...context,
        workerId: `${hostname()}/${process.pid}`,
        concurrency: options.concurrency,
        workDir: join(planDir, 'workers', id),
        leaseMs: options.leaseMs,
        retries: config.retries ?? 2,
        ...(config.scope === undefined ? {} : { scope: config.scope }),
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
        index,
      });
      say(options.opening);
      return work;
    },
    stopName: 'stop the workers and give their subtasks back',
    steps: (shutdown) => ({
      summary: {
        run: () => {
          io.stdout.write(
            options.json
              ? `${JSON.stringify(sharedWorkInterruptedReport(id, shutdown.exitCode()))}\n`
              : `${formatSharedWorkInterrupted(id)}\n`,
          );
        },
        name: 'print the summary',
      },
      release: { run: () => store.close(), name: 'close the store' },
    }),
  });
  if (typeof driven === 'number') return driven;
  driven.shutdown.dispose();
  const { summary } = driven;
  for (const line of sharedWorkSummaryLines(summary)) say(line);
  const report = sharedWorkReport(id, config.scope, summary);
  io.stdout.write(
    options.json ? `${JSON.stringify(report)}\n` : `${formatSharedWorkReport(report)}\n`,
  );
  return report.exitCode;
}
