import { type Backlog, parseBacklog } from '@savepoint/task-schema';
import { runCommand } from './command-worker.ts';
import { RunnerError } from './errors.ts';

/** Options of {@link runPlanner}. */
export interface PlannerOptions {
  /** The PRD file, given to the command as `SAVEPOINT_PRD`. */
  readonly prdPath: string;
  /** The rest of the command's environment. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Aborting ends the command's process group; the call then rejects with `ABORTED`. */
  readonly signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL of the group. @default 3000 */
  readonly graceMs?: number;
  /** How the output is named in a `BacklogError`. @default `output of '<command>'` */
  readonly source?: string;
}

/**
 * Plans a backlog with a command of your own (an LLM call, a script): runs `command` through
 * `/bin/sh -c` in a process group of its own with the PRD's path in `SAVEPOINT_PRD`, and parses
 * what it writes on stdout as a backlog. What it writes on stderr goes into the error when it
 * fails. Nothing is written anywhere.
 *
 * @example
 * const backlog = await runPlanner('./plan-with-llm.sh', { prdPath: 'PRD.md' });
 * @throws RunnerError `SPAWN` (`could not start: ...`), `PLANNER_FAILED` (`exited with 3: <end of
 *   stderr>` or `exited with signal SIGKILL`), `ABORTED` when `signal` stopped it; BacklogError
 *   when its output is not a valid backlog
 */
export async function runPlanner(command: string, options: PlannerOptions): Promise<Backlog> {
  const result = await runCommand(command, {
    env: { ...(options.env ?? process.env), SAVEPOINT_PRD: options.prdPath },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    captureStdout: true,
  }).catch((cause: Error) => {
    throw new RunnerError('SPAWN', `could not start: ${cause.message}`, { cause });
  });
  if (result.aborted) throw new RunnerError('ABORTED', 'stopped by its signal');
  if (result.exitCode !== 0) {
    const err = result.output.trim().slice(-2000);
    throw new RunnerError(
      'PLANNER_FAILED',
      `exited with ${result.signal ? `signal ${result.signal}` : result.exitCode}${err ? `: ${err}` : ''}`,
    );
  }
  return parseBacklog(result.stdout ?? '', { source: options.source ?? `output of '${command}'` });
}
