import type { ShutdownError } from './errors.ts';

/**
 * The parts of `process` a controller uses. Pass a fake (an `EventEmitter` with `exit` and
 * `exitCode`) as `ShutdownOptions.process` to test shutdown logic without touching the real
 * process.
 */
export interface ProcessLike {
  /** Adds a listener for a signal name, `uncaughtException` or `unhandledRejection`. */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener added with `on`. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Ends the process. A fake may return; the controller then does nothing more. */
  exit(code?: number): void;
  /** Set before `exit` so the code survives even if the process ends some other way. */
  exitCode?: number | string | null | undefined;
}

/**
 * Where messages go. Every method is optional; a missing one drops its messages. `details`
 * carries structured fields (hook name, duration, error).
 */
export interface ShutdownLogger {
  debug?(message: string, details?: Record<string, unknown>): void;
  info?(message: string, details?: Record<string, unknown>): void;
  warn?(message: string, details?: Record<string, unknown>): void;
  error?(message: string, details?: Record<string, unknown>): void;
}

/** Options of {@link createShutdown}. */
export interface ShutdownOptions {
  /**
   * Signals that start the shutdown. An empty list leaves only `trigger()` (and errors, with
   * `handleErrors`). SIGKILL and SIGSTOP cannot be caught and are refused.
   * @default ['SIGINT', 'SIGTERM', 'SIGHUP']
   */
  signals?: readonly NodeJS.Signals[];
  /**
   * Milliseconds the whole hook run may take, from the first signal. When it passes, the running
   * hook's `ctx.signal` is aborted, later hooks are skipped, the force hooks run and the result
   * has `timedOut: true` and exit code 1. `Infinity` disables the deadline.
   * @default 10_000
   */
  timeoutMs?: number;
  /**
   * Exit the process when the hooks have finished (with `process.exitCode` and `process.exit`).
   * With `false`, only `done` settles and what happens next is up to you.
   * @default true
   */
  exit?: boolean;
  /**
   * Also start the shutdown on `uncaughtException` and `unhandledRejection`; the error is
   * logged, the hooks run, and the exit code is 1. Installing these listeners stops Node's own
   * crash-on-error for the whole process, so only one place in a program should turn this on.
   * @default false
   */
  handleErrors?: boolean;
  /**
   * A second signal (any of `signals`) while hooks run, later than `forwardedSignalWindowMs`
   * after the first: run the force hooks and exit at once with the first signal's code. With `false` the second signal is logged and ignored and only
   * `timeoutMs` bounds the run.
   * @default true
   */
  forceExitOnSecondSignal?: boolean;
  /**
   * Milliseconds after the signal that started the shutdown during which any further signal
   * (the same one or another) counts as part of the same request, not as a second signal: it is
   * logged at `info` level and changes nothing. Package managers and supervisors pass a signal on
   * to their child right after the terminal delivered one (`pnpm exec` sends SIGTERM about a
   * millisecond after the terminal's SIGINT, `npm exec` sends SIGINT again, a closing terminal
   * sends SIGHUP), and a person's second Ctrl-C comes later than that. Node does not tell a
   * process who sent a signal, so the rule is about time only. `0` turns it off: every further
   * signal is a second signal.
   * @default 500
   */
  forwardedSignalWindowMs?: number;
  /**
   * Where progress, hook failures and caught errors are reported. Each message is a complete
   * sentence that names what it is about (hook, signal, error message); `details` repeats those
   * facts as fields for structured logs.
   * @default `warn` and `error` print the message alone to `console.warn` and `console.error`
   * (plus the stack of an uncaught error, with `handleErrors`); `info` and `debug` are dropped
   */
  logger?: ShutdownLogger;
  /**
   * The process to listen on and exit.
   * @default globalThis.process
   */
  process?: ProcessLike;
}

/** Options of {@link Shutdown.onShutdown}. */
export interface HookOptions {
  /**
   * Shown in logs and in `ShutdownResult.hooks`.
   * @default the function's name, or `hook <n>` for an anonymous function
   */
  name?: string;
  /**
   * Milliseconds this hook may take. When it passes, `ctx.signal` is aborted, the hook is
   * reported as `timeout` and the next hook starts. Without it, only the overall `timeoutMs`
   * bounds the hook.
   */
  timeoutMs?: number;
}

/** Options of {@link Shutdown.trigger}. */
export interface TriggerOptions {
  /**
   * The exit code when every hook succeeds (a hook failure still gives 1). Use 1 when the
   * shutdown is caused by a fatal error.
   * @default 0
   */
  exitCode?: number;
}

/**
 * What started a shutdown. `code` is the exit code it leads to when every hook succeeds.
 */
export type ShutdownReason =
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals; readonly code: number }
  | { readonly kind: 'trigger'; readonly reason: string | Error | undefined; readonly code: number }
  | {
      readonly kind: 'error';
      readonly error: unknown;
      readonly origin: 'uncaughtException' | 'unhandledRejection';
      readonly code: 1;
    };

/** What a shutdown hook receives. */
export interface HookContext {
  /** Aborted when this hook's timeout or the overall deadline passes, or a second signal forces the exit. */
  readonly signal: AbortSignal;
  /** What started the shutdown. */
  readonly reason: ShutdownReason;
  /** This hook's name. */
  readonly name: string;
}

/** A cleanup step; it may be async. Its return value is ignored. */
export type ShutdownHook = (ctx: HookContext) => unknown;

/** Why the force hooks are running. */
export type ForceCause = 'signal' | 'deadline';

/** A synchronous last-moment step, run before a forced exit. A returned promise is not awaited. */
export type ForceHook = (reason: ShutdownReason, cause: ForceCause) => void;

/**
 * How one hook ended: `ok`; `error` (it threw or rejected); `timeout` (its own timeout or the
 * overall deadline cut it off); `interrupted` (a second signal cut it off); `skipped` (the run
 * ended before it started).
 */
export type HookStatus = 'ok' | 'error' | 'timeout' | 'interrupted' | 'skipped';

/** One hook's line in {@link ShutdownResult.hooks}. */
export interface HookReport {
  readonly name: string;
  readonly status: HookStatus;
  /** Time from its start to its end; 0 when skipped. */
  readonly durationMs: number;
  /** Set for every status but `ok` and `skipped`. */
  readonly error?: ShutdownError;
}

/** How a shutdown ended; `done` and `trigger()` resolve with it. They never reject. */
export interface ShutdownResult {
  readonly reason: ShutdownReason;
  /** The code this controller exits with (or would, with `exit: false`). */
  readonly exitCode: number;
  /** Every hook in registration order. */
  readonly hooks: readonly HookReport[];
  /** The overall `timeoutMs` passed. */
  readonly timedOut: boolean;
  /** A second signal ended the run. */
  readonly forced: boolean;
  /** Time from the start of the shutdown to its end. */
  readonly durationMs: number;
}

/** The controller {@link createShutdown} returns. */
export interface Shutdown {
  /**
   * Aborted when the shutdown starts. Its `reason` is a `ShutdownError`: code `SIGNAL` with
   * `signal` set (message `Received SIGTERM`), `TRIGGERED`, or `UNCAUGHT`.
   */
  readonly signal: AbortSignal;
  /**
   * Registers a cleanup hook. Hooks run one after another in registration order. Hooks added
   * while the run is going still run, after those already queued.
   * @returns a function that unregisters the hook (a no-op once it has started).
   */
  onShutdown(hook: ShutdownHook, options?: HookOptions): () => void;
  /**
   * Registers a synchronous hook run just before a forced exit: a second signal or the overall
   * deadline. The place for a synchronous flush.
   * @returns a function that unregisters the hook.
   */
  onForce(hook: ForceHook): () => void;
  /**
   * Starts the shutdown from code. Once one has started, returns the running one's result and
   * ignores the new reason.
   */
  trigger(reason?: string | Error, options?: TriggerOptions): Promise<ShutdownResult>;
  /** Settles when the hooks have finished (or were cut off). Never rejects. */
  readonly done: Promise<ShutdownResult>;
  /** True from the moment the shutdown starts. */
  readonly isShuttingDown: boolean;
  /**
   * The exit code so far: `undefined` before the shutdown starts, then the reason's code, or 1
   * as soon as a hook fails or times out; final once `done` settles.
   */
  exitCode(): number | undefined;
  /**
   * Removes every listener this controller added to the process. A run already going keeps
   * going; registering hooks or triggering afterwards throws `ShutdownError` `DISPOSED`.
   */
  dispose(): void;
  /** Same as {@link Shutdown.dispose}, for `using`. */
  [Symbol.dispose](): void;
}
