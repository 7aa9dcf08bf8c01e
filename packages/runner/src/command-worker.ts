import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { RunnerError } from './errors.ts';
import { groupIsAlive, signalGroup } from './internal/proc.ts';
import { safeEnvValue } from './item-details.ts';
import type { Worker, WorkResult } from './types.ts';

/** Options of {@link commandWorker}. */
export interface CommandWorkerOptions {
  /** Working folder of the command. @default process.cwd() */
  cwd?: string;
  /**
   * The environment the command starts from, copied once, when `commandWorker` is called: a
   * later change to it (or to `process.env`) does not reach the command.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /**
   * How long the process group gets between SIGTERM and SIGKILL, both after the command exits
   * (for what it left running) and when the attempt is aborted.
   * @default 3000
   */
  graceMs?: number;
}

/** How long output still buffered in the pipes may take to arrive once the command has exited. */
const DRAIN_MS = 100;
/** How often a terminated group is checked for members still alive. */
const POLL_MS = 20;
/** How long to wait for SIGKILLed processes to disappear. */
const KILL_WAIT_MS = 1000;

/**
 * A worker that runs `command` through `/bin/sh -c` once per attempt, in a process group of its
 * own. Exit code 0 means the subtask is Complete.
 *
 * The item never appears in the command string; the command reads it from the environment:
 * `SAVEPOINT_ITEM_ID`, `SAVEPOINT_ITEM_TITLE` (NUL bytes replaced, at most 4 KiB),
 * `SAVEPOINT_ATTEMPT`, `SAVEPOINT_SESSION_DIR`, `SAVEPOINT_LOG_FILE` and `SAVEPOINT_ITEM_FILE` (a
 * JSON file with the item, its ancestors, context scope, dependencies and the previous log).
 *
 * The attempt ends when the shell exits, not when its output pipes close, so a background process
 * it started cannot hold the runner. Then the whole group is ended: SIGTERM, and SIGKILL for
 * whatever is left after `graceMs`. An abort does the same to a command still running.
 */
export function commandWorker(command: string, options: CommandWorkerOptions = {}): Worker {
  if (typeof command !== 'string' || command.trim() === '') {
    throw new TypeError(
      `commandWorker expected a non-empty command string, got ${String(command)}`,
    );
  }
  const graceMs = options.graceMs ?? 3000;
  // Copied once: reading `process.env` asks the process environment for each key, which cost
  // more than anything else the runner does between one command's exit and the next command's
  // spawn (about 0.1 ms each time). Each attempt's environment is an object of its own few
  // variables on top of this copy (`spawn` takes inherited keys too), so no attempt copies
  // the whole environment again.
  const baseEnv: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  return async (item, context, signal) => {
    const itemFile = context.logPath.replace(/\.log$/, '.item.json');
    try {
      // Written synchronously and never fsynced: it is rebuilt for every attempt and read only
      // by the worker while this runner is alive, so it needs the page cache, not the disk, and
      // a synchronous write of a few KiB is cheaper than three hops through the thread pool.
      writeFileSync(itemFile, `${JSON.stringify(context.details, null, 2)}\n`);
    } catch (cause) {
      throw new RunnerError('IO', `cannot write the item file ${itemFile}`, {
        path: itemFile,
        itemId: item.id,
        cause,
      });
    }
    if (signal.aborted) return { ok: false, message: 'aborted before it started' };
    const env: NodeJS.ProcessEnv = Object.create(baseEnv);
    Object.assign(env, context.marker);
    env.SAVEPOINT_ITEM_ID = item.id;
    env.SAVEPOINT_ITEM_TITLE = safeEnvValue(item.title);
    env.SAVEPOINT_ATTEMPT = String(context.attempt);
    env.SAVEPOINT_SESSION_DIR = context.sessionDir;
    env.SAVEPOINT_ITEM_FILE = itemFile;
    env.SAVEPOINT_LOG_FILE = context.logPath;
    // Awaited rather than returned: an async function that returns a promise takes two more
    // turns of the microtask queue to settle, between the command's exit and its outcome.
    return await runInGroup(command, {
      env,
      cwd: options.cwd,
      graceMs,
      signal,
      // Nobody reads the lines: the command writes to its log itself, with no pipe to copy from.
      ...(context.logFd === null ? {} : { logFd: context.logFd }),
      onOutput: (chunk) => context.output(chunk),
      track: (pgid) => context.trackProcessGroup(pgid),
      what: item.id,
    });
  };
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** The whole environment of the command. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Working folder. @default process.cwd() */
  cwd?: string;
  /** Aborting ends the command's process group (SIGTERM, SIGKILL after `graceMs`). */
  signal?: AbortSignal;
  /** @default 3000 */
  graceMs?: number;
  /** How much of the end of the output to keep, in characters. @default 65536 */
  tailBytes?: number;
  /**
   * Keep standard output whole and apart, in `stdout`, for a command whose output is its result
   * (a planner); `output` then holds only the end of standard error. @default false
   */
  captureStdout?: boolean;
}

/** What {@link runCommand} reports. */
export interface CommandResult {
  /** Exit code, or `null` when the shell ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the shell, if any. */
  signal: string | null;
  /** The end of stdout and stderr, interleaved as they arrived (only stderr with `captureStdout`). */
  output: string;
  /** All of stdout with `captureStdout`, else `null`. */
  stdout: string | null;
  /** Whether the signal stopped it. */
  aborted: boolean;
}

/**
 * Runs one command through `/bin/sh -c` in a process group of its own, as a command worker does
 * (waits for the shell's exit, then ends the group and waits for it to be gone), outside any
 * session: for a QA step or a planner.
 *
 * @throws RunnerError `SPAWN` when the shell cannot start
 */
export async function runCommand(
  command: string,
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  if (typeof command !== 'string' || command.trim() === '') {
    throw new TypeError(`runCommand expected a non-empty command string, got ${String(command)}`);
  }
  const signal = options.signal ?? new AbortController().signal;
  const tailBytes = options.tailBytes ?? 64 * 1024;
  let output = '';
  const stdout: Buffer[] | null = options.captureStdout ? [] : null;
  let ended: Promise<void> = Promise.resolve();
  const result = await runInGroup(command, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    graceMs: options.graceMs ?? 3000,
    signal,
    onOutput: (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-tailBytes);
    },
    ...(stdout ? { onStdout: (chunk: Buffer) => stdout.push(chunk) } : {}),
    track: () => {
      let release!: () => void;
      ended = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
    what: 'the command',
  });
  await ended;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    output,
    stdout: stdout && Buffer.concat(stdout).toString('utf8'),
    aborted: signal.aborted,
  };
}

function runInGroup(
  command: string,
  options: {
    env: NodeJS.ProcessEnv;
    cwd: string | undefined;
    graceMs: number;
    signal: AbortSignal;
    onOutput: (chunk: Buffer) => void;
    /** A file the command writes its stdout and stderr to itself, instead of pipes to `onOutput`. */
    logFd?: number;
    /** Where stdout goes when it is not mixed into `onOutput`. */
    onStdout?: (chunk: Buffer) => void;
    track: (pgid: number) => () => void;
    what: string;
  },
): Promise<WorkResult> {
  const { signal, graceMs } = options;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio:
        options.logFd === undefined
          ? ['ignore', 'pipe', 'pipe']
          : ['ignore', options.logFd, options.logFd],
      detached: true,
    });
    const pgid = child.pid;
    if (pgid === undefined) {
      child.once('error', (cause) =>
        reject(
          new RunnerError('SPAWN', `cannot start /bin/sh for ${options.what}: ${cause.message}`, {
            cause,
          }),
        ),
      );
      return;
    }
    const release = options.track(pgid);
    child.stdout?.on('data', options.onStdout ?? options.onOutput);
    child.stderr?.on('data', options.onOutput);

    let ending: Promise<void> | undefined;
    const endGroup = () => {
      ending ??= terminateGroup(pgid, graceMs).finally(release);
      return ending;
    };
    const onAbort = () => void endGroup();
    signal.addEventListener('abort', onAbort, { once: true });

    child.once('exit', (exitCode, exitSignal) => {
      signal.removeEventListener('abort', onAbort);
      // Whatever the shell left running goes with it; the outcome does not wait for that, and
      // neither does the next attempt: the group is signalled once the callbacks the outcome
      // sets off (the next claim and its spawn) have run. Signalling a group that is already
      // empty, the usual case, throws ESRCH, and node builds a full stack trace for it (about
      // 0.1 ms) that would otherwise sit between this exit and the next spawn. The kernel hands
      // out no pid that is still a group's id, and an empty group's id only comes round again
      // after the whole pid range, so one turn of the event loop cannot aim the signal at
      // another group.
      setImmediate(endGroup);
      const result: WorkResult = {
        ok: exitCode === 0 && !signal.aborted,
        exitCode,
        signal: exitSignal,
        ...(exitCode === 0
          ? {}
          : { message: exitSignal ? `ended by ${exitSignal}` : `exit code ${exitCode}` }),
      };
      // Output written straight to a file has nothing to drain.
      if (child.stdout === null && child.stderr === null) resolve(result);
      else void drain(child).then(() => resolve(result));
    });
  });
}

/** Waits for the rest of the output, but never longer than {@link DRAIN_MS}. */
function drain(child: ReturnType<typeof spawn>): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.closed);
  if (streams.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let open = streams.length;
    const timer = setTimeout(finish, DRAIN_MS);
    for (const stream of streams) stream!.once('close', () => --open === 0 && finish());
    function finish() {
      clearTimeout(timer);
      // A process that escaped the group may still hold the pipes: stop reading them.
      for (const stream of streams) stream!.destroy();
      resolve();
    }
  });
}

/**
 * SIGTERM to the group, then SIGKILL once `graceMs` has passed with members still alive. The
 * timers keep the event loop alive on purpose: this must happen even while the process shuts down.
 */
function terminateGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return Promise.resolve();
  const deadline = Date.now() + graceMs;
  return new Promise((resolve) => {
    const check = () => {
      if (!groupIsAlive(pgid)) return resolve();
      if (Date.now() >= deadline) {
        signalGroup(pgid, 'SIGKILL');
        // SIGKILL cannot be refused, but dying takes a moment: wait (briefly) until it is done.
        if (Date.now() >= deadline + KILL_WAIT_MS) return resolve();
      }
      setTimeout(check, POLL_MS);
    };
    setTimeout(check, POLL_MS);
  });
}
