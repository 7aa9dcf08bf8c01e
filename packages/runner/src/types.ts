import type { Status, Subtask } from '@savepoint/task-schema';

/**
 * What a worker reports for one attempt. Returning nothing (or `{ ok: true }`) means the subtask
 * is Complete; `{ ok: false }` or a thrown error means the attempt failed.
 */
export interface WorkResult {
  /** Whether the attempt succeeded. */
  ok: boolean;
  /** A command's exit code; `null` when it ended by a signal. */
  exitCode?: number | null;
  /** The signal that ended a command, if any. */
  signal?: string | null;
  /** A short reason, shown in events and ERROR_REPORT.md. */
  message?: string;
}

/** An ancestor of a subtask, as handed to the worker. */
export interface AncestorInfo {
  id: string;
  type: string;
  title: string;
  description?: string;
}

/** A dependency of a subtask and its status when the attempt started. */
export interface DependencyInfo {
  id: string;
  title: string | null;
  /** `null` when no item has this id, or the runner has no backlog to look in. */
  status: Status | null;
}

/** Everything a worker may need to know about its subtask (also the item file's contents). */
export interface ItemDetails {
  /** The subtask exactly as it is in the backlog. */
  item: Subtask;
  /** From the phase down to the task. */
  ancestors: AncestorInfo[];
  /** The subtask's `context_scope`, or `null`. */
  context_scope: string | null;
  dependencies: DependencyInfo[];
  attempt: number;
  /** The log of the previous attempt, for a worker that wants to learn from it. */
  previous_log: string | null;
  session_dir: string;
}

/** What the runner tells a worker about the attempt it is making. */
export interface WorkerContext {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The session folder. */
  readonly sessionDir: string;
  /** Where this attempt's output goes (`<session>/logs/<item-id>.<attempt>.log`). */
  readonly logPath: string;
  /** The previous attempt's log, or `null` on the first attempt. */
  readonly previousLogPath: string | null;
  /** The item, its ancestors, context scope and dependencies. */
  readonly details: ItemDetails;
  /**
   * Environment variables every process started for this attempt must carry (a command worker
   * adds them to the command's environment), so a later run can find what a killed run left.
   */
  readonly marker: Readonly<Record<string, string>>;
  /** Records output: appended to the attempt's log and emitted as `output` events, line by line. */
  output(text: string | Uint8Array): void;
  /**
   * The attempt log's open descriptor when nobody reads the output line by line (no `onEvent`, or
   * `outputEvents: false`), else `null`. A worker may give it to a child process as its stdout and
   * stderr, so the output goes to the log with no pipe in between; the runner reads a failure's
   * output tail back from the log. It is closed when the attempt ends.
   */
  readonly logFd: number | null;
  /**
   * Records a process group the worker started, durably, so that a later run can end it if this
   * process dies without doing so. Call the returned function once the group is gone.
   */
  trackProcessGroup(pgid: number): () => void;
}

/** A worker: does one attempt of one subtask. Must stop soon after `signal` aborts. */
export type Worker = (item: Subtask, context: WorkerContext, signal: AbortSignal) => WorkerReturn;

/** What a worker returns: a result, or nothing for success (also as a promise). */
// biome-ignore lint/suspicious/noConfusingVoidType: a function without a return statement is a worker that succeeded
export type WorkerReturn = Promise<WorkResult | undefined | void> | WorkResult | undefined | void;

/** One subtask that ended Failed in this run. */
export interface FailureRecord {
  id: string;
  title: string;
  attempts: number;
  exitCode: number | null;
  signal: string | null;
  message: string | null;
  /** The last lines the last attempt printed. */
  outputTail: string;
  /** The last attempt's log file. */
  logPath: string | null;
  /** ISO 8601. */
  at: string;
}

/** Progress and log events; the runner itself prints nothing. */
export type RunnerEvent =
  | { type: 'started'; item: Subtask; attempt: number; logPath: string }
  | { type: 'output'; item: Subtask; attempt: number; line: string }
  | { type: 'finished'; item: Subtask; attempts: number }
  | {
      type: 'retry';
      item: Subtask;
      attempt: number;
      result: WorkResult;
      delayMs: number;
    }
  | { type: 'failed'; item: Subtask; failure: FailureRecord }
  /**
   * The claim on the subtask was lost (its lease expired and another worker may run it): the
   * attempt was stopped or its outcome refused, and nothing was recorded or counted.
   */
  | { type: 'lost'; item: Subtask; attempt: number };

/** What {@link Runner.run} resolves to. */
export interface RunSummary {
  /** Subtasks that became Complete in this run, in the order they finished. */
  completed: string[];
  /** Subtasks that ended Failed in this run. */
  failed: FailureRecord[];
  /** Subtasks in scope that wait, directly or not, on a Failed subtask (empty when interrupted). */
  blocked: Map<string, string[]>;
  /** Whether the signal stopped the run (in-flight subtasks went back to Planned). */
  interrupted: boolean;
  /** Subtasks an earlier run left in flight, returned to Planned before starting. */
  recovered: string[];
  /** Processes of an earlier, killed run that were still alive and were ended. */
  reaped: number;
  /** What happened to ERROR_REPORT.md at the end of the run. */
  errorReport: 'written' | 'removed' | 'unchanged';
  /** Subtasks whose claim was lost while this runner worked on them (none with a session). */
  lost: string[];
}
