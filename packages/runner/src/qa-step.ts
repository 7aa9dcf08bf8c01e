import { join } from 'node:path';
import type { SessionManager } from '@savepoint/session';
import { runCommand } from './command-worker.ts';
import { testResults } from './report.ts';

/** Options of {@link runQaStep}. */
export interface QaStepOptions {
  /** Aborting ends the QA command's process group; the step then resolves `aborted`. */
  readonly signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL of the group. @default 3000 */
  readonly graceMs?: number;
  /** The rest of the command's environment. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** How a QA step ended; see {@link runQaStep}. */
export interface QaStepResult {
  readonly status: 'passed' | 'failed' | 'aborted';
  /** The command's exit code, `null` when it ended by a signal. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: string | null;
  /** The `TEST_RESULTS.md` written for a failure, else `null`. */
  readonly testResults: string | null;
}

/**
 * Runs the QA command of a finished session once, in a process group of its own, with the
 * session folder in `SAVEPOINT_SESSION_DIR`. Exit 0 passes; anything else fails and writes the
 * session's `TEST_RESULTS.md` (the command, its exit code and the end of its output). Aborted by
 * `signal`, it writes nothing, so the step runs again next time.
 *
 * @example
 * const qa = await runQaStep(manager, 'pnpm test', { signal: shutdown.signal });
 * if (qa.status === 'failed') console.error(`QA failed; see ${qa.testResults}`);
 * @throws RunnerError `SPAWN` when the shell cannot start; SessionError when the report cannot
 *   be written; TypeError without an open session
 */
export async function runQaStep(
  manager: SessionManager,
  command: string,
  options: QaStepOptions = {},
): Promise<QaStepResult> {
  const state = manager.currentSession;
  if (!state) throw new TypeError('runQaStep expected a session manager with an open session');
  const dir = state.metadata.path;
  const result = await runCommand(command, {
    env: { ...(options.env ?? process.env), SAVEPOINT_SESSION_DIR: dir },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
  });
  const { exitCode, signal } = result;
  if (result.aborted) return { status: 'aborted', exitCode, signal, testResults: null };
  if (exitCode === 0) return { status: 'passed', exitCode, signal, testResults: null };
  await manager.writeArtifact('TEST_RESULTS.md', testResults(command, exitCode, result.output));
  return { status: 'failed', exitCode, signal, testResults: join(dir, 'TEST_RESULTS.md') };
}
