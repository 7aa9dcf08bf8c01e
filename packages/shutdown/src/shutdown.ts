import { ShutdownError } from './errors.ts';
import { exitCodeForSignal, signalNumber } from './exit-codes.ts';
import { type Coordinator, coordinatorFor, type Member } from './internal/coordinator.ts';
import { describe } from './internal/describe.ts';
import type {
  ForceCause,
  ForceHook,
  HookOptions,
  HookReport,
  HookStatus,
  ProcessLike,
  Shutdown,
  ShutdownHook,
  ShutdownLogger,
  ShutdownOptions,
  ShutdownReason,
  ShutdownResult,
  TriggerOptions,
} from './types.ts';

/** The signals a controller listens to unless told otherwise. */
export const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = Object.freeze([
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
]);

/** The overall deadline unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * How long after the first signal further signals count as the same request unless told
 * otherwise: long enough for a parent process to pass the signal on (about a millisecond for
 * `pnpm exec`, tens of milliseconds on a busy machine), short enough that a person's second
 * Ctrl-C still forces the exit.
 */
export const DEFAULT_FORWARDED_SIGNAL_WINDOW_MS = 500;

/**
 * Creates a shutdown controller and starts listening to the process: one listener per signal
 * (shared by every controller on the same process) and, with `handleErrors`, one for
 * `uncaughtException` and `unhandledRejection`. Importing the package does nothing; this does.
 *
 * On the first signal, `signal` aborts and the hooks run in registration order, each bounded by
 * its own timeout and all of them by `timeoutMs`. Then the process exits with 128 + the signal
 * number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), or 1 if a hook failed or timed out.
 * A second signal runs the force hooks and exits at once with the first signal's code. Signals
 * within `forwardedSignalWindowMs` (500 ms) of the first are not a second signal: that is a
 * parent process (`pnpm exec`, `npm exec`) or a closing terminal passing the same request on.
 *
 * @throws TypeError when an option has the wrong type or an unknown signal is named.
 *
 * @example
 * ```ts
 * import { createShutdown } from '@savepoint/shutdown';
 *
 * const shutdown = createShutdown({ timeoutMs: 15_000 });
 * shutdown.onShutdown(() => session.flushUpdates(), { name: 'flush pending updates' });
 * shutdown.onShutdown(() => session.saveBacklog(backlog), { name: 'save backlog' });
 * shutdown.onForce(() => session.flushSync());
 *
 * for (const item of backlog) {
 *   if (shutdown.signal.aborted) break;
 *   await runItem(item, { signal: shutdown.signal });
 * }
 * ```
 */
export function createShutdown(options: ShutdownOptions = {}): Shutdown {
  return new Controller(readOptions(options));
}

interface Settings {
  readonly signals: readonly NodeJS.Signals[];
  readonly timeoutMs: number;
  readonly exit: boolean;
  readonly handleErrors: boolean;
  readonly forceExitOnSecondSignal: boolean;
  readonly forwardedSignalWindowMs: number;
  readonly logger: ShutdownLogger;
  readonly process: ProcessLike;
}

interface HookEntry {
  readonly hook: ShutdownHook;
  readonly name: string;
  readonly timeoutMs: number;
}

interface RunningHook {
  readonly entry: HookEntry;
  interrupt(status: HookStatus, error: ShutdownError): void;
}

const ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

class Controller implements Shutdown {
  readonly #settings: Settings;
  readonly #coordinator: Coordinator;
  readonly #events: readonly string[];
  readonly #abort = new AbortController();
  readonly #hooks = new Set<HookEntry>();
  readonly #forceHooks = new Set<ForceHook>();
  readonly #reports = new Map<HookEntry, HookReport>();
  readonly #done: Promise<ShutdownResult>;
  #resolveDone!: (result: ShutdownResult) => void;
  #phase: 'idle' | 'running' | 'settled' = 'idle';
  #listening = true;
  #disposed = false;
  #registered = 0;
  #reason: ShutdownReason | undefined;
  #startEvent = 0;
  #startedAt = 0;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #current: RunningHook | undefined;
  #failed = false;
  #result: ShutdownResult | undefined;
  /** The face this controller shows the coordinator; kept off the public object. */
  readonly #member: Member;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.#done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
    this.#coordinator = coordinatorFor(settings.process);
    this.#events = settings.handleErrors
      ? [...settings.signals, ...ERROR_EVENTS]
      : settings.signals;
    const self = this;
    this.#member = {
      get wantsExit() {
        return self.#settings.exit;
      },
      get phase() {
        return self.#phase;
      },
      get failed() {
        return self.#failed;
      },
      get currentExitCode() {
        return self.exitCode();
      },
      handle: (event, args) => this.#handle(event, args),
      join: (reason) => this.#begin(reason),
      forceNow: () => this.#force('signal', this.#forceCode(undefined), false),
      release: () => this.#release(),
    };
    for (const event of this.#events) this.#coordinator.listen(this.#member, event);
    this.#coordinator.add(this.#member);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get done(): Promise<ShutdownResult> {
    return this.#done;
  }

  get isShuttingDown(): boolean {
    return this.#phase !== 'idle';
  }

  exitCode(): number | undefined {
    if (this.#result !== undefined) return this.#result.exitCode;
    if (this.#reason === undefined) return undefined;
    return this.#failed ? 1 : this.#reason.code;
  }

  onShutdown(hook: ShutdownHook, options: HookOptions = {}): () => void {
    if (typeof hook !== 'function') {
      throw new TypeError(`onShutdown expected a function, got ${describe(hook)}`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`onShutdown expected an options object, got ${describe(options)}`);
    }
    if (options.name !== undefined && typeof options.name !== 'string') {
      throw new TypeError(
        `onShutdown expected options.name to be a string, got ${describe(options.name)}`,
      );
    }
    const timeoutMs = readTimeout('onShutdown', 'options.timeoutMs', options.timeoutMs, Infinity);
    this.#assertUsable('onShutdown');
    this.#registered += 1;
    const name = options.name ?? (hook.name !== '' ? hook.name : `hook ${this.#registered}`);
    if (this.#phase === 'settled') {
      this.#log(
        'warn',
        `shutdown: hook "${name}" was registered after the shutdown finished; it will not run.`,
      );
      return () => {};
    }
    const entry: HookEntry = { hook, name, timeoutMs };
    this.#hooks.add(entry);
    return () => {
      if (this.#current?.entry !== entry) this.#hooks.delete(entry);
    };
  }

  onForce(hook: ForceHook): () => void {
    if (typeof hook !== 'function') {
      throw new TypeError(`onForce expected a function, got ${describe(hook)}`);
    }
    this.#assertUsable('onForce');
    // Wrapping makes registering the same function twice give two independent registrations.
    const entry: ForceHook = (reason, cause) => hook(reason, cause);
    this.#forceHooks.add(entry);
    return () => {
      this.#forceHooks.delete(entry);
    };
  }

  trigger(reason?: string | Error, options: TriggerOptions = {}): Promise<ShutdownResult> {
    if (reason !== undefined && typeof reason !== 'string' && !(reason instanceof Error)) {
      throw new TypeError(`trigger expected a string or an Error reason, got ${describe(reason)}`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`trigger expected an options object, got ${describe(options)}`);
    }
    const code = options.exitCode ?? 0;
    if (!Number.isInteger(code) || code < 0 || code > 255) {
      throw new TypeError(
        `trigger expected options.exitCode to be an integer from 0 to 255, got ${describe(options.exitCode)}`,
      );
    }
    if (this.#phase !== 'idle') {
      this.#log('debug', 'shutdown: trigger() was called while already shutting down; ignored.', {
        reason: reasonText(reason),
      });
      return this.#done;
    }
    this.#assertUsable('trigger');
    this.#begin({ kind: 'trigger', reason, code });
    return this.#done;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#release();
    this.#coordinator.remove(this.#member);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #handle(event: string, args: unknown[]): void {
    if (event === 'uncaughtException' || event === 'unhandledRejection') {
      this.#onError(event, args[0]);
    } else {
      this.#onSignal(event as NodeJS.Signals);
    }
  }

  #release(): void {
    if (!this.#listening) return;
    this.#listening = false;
    for (const event of this.#events) this.#coordinator.unlisten(this.#member, event);
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#phase === 'idle') {
      this.#begin({ kind: 'signal', signal, code: exitCodeForSignal(signal) });
      return;
    }
    // Another controller already started this one for the very same event.
    if (this.#startEvent !== 0 && this.#startEvent === this.#coordinator.currentEvent) return;
    const reason = this.#reason;
    if (reason?.kind === 'signal') {
      const afterMs = Math.round(performance.now() - this.#startedAt);
      if (afterMs < this.#settings.forwardedSignalWindowMs) {
        this.#log(
          'info',
          `shutdown: received ${signal} ${afterMs} ms after ${reason.signal}; taken as the same request passed on by a parent process or the terminal, not as a second signal.`,
          { signal, first: reason.signal, afterMs },
        );
        // A SIGINT in the window means a person pressed Ctrl-C and a parent passed it on too
        // (pnpm sends SIGTERM, which on a busy machine can be handled first): the exit code is
        // the Ctrl-C's.
        if (signal === 'SIGINT' && reason.signal !== 'SIGINT') {
          this.#reason = { kind: 'signal', signal, code: exitCodeForSignal(signal) };
        }
        return;
      }
    }
    if (!this.#settings.forceExitOnSecondSignal) {
      if (this.#phase === 'running') {
        this.#log(
          'warn',
          `shutdown: received ${signal} again; the shutdown hooks keep running (forceExitOnSecondSignal is off).`,
          { signal },
        );
      }
      return;
    }
    const code = this.#forceCode(signal);
    if (this.#phase === 'running') {
      this.#log(
        'warn',
        `shutdown: received ${signal} again; forcing the exit with code ${code} without waiting for the remaining shutdown hooks.`,
        { signal, exitCode: code },
      );
      this.#force('signal', code, true, signal);
    } else {
      this.#coordinator.secondSignal(code);
    }
  }

  #onError(origin: 'uncaughtException' | 'unhandledRejection', error: unknown): void {
    const label = origin === 'uncaughtException' ? 'uncaught exception' : 'unhandled rejection';
    if (this.#phase === 'idle') {
      this.#log(
        'error',
        `shutdown: ${label} (${errorText(error)}); running the shutdown hooks, then exiting with code 1.`,
        { error, ...stackOf(error) },
      );
      this.#begin({ kind: 'error', error, origin, code: 1 });
      return;
    }
    if (this.#startEvent !== 0 && this.#startEvent === this.#coordinator.currentEvent) return;
    this.#log(
      'error',
      `shutdown: ${label} during the shutdown (${errorText(error)}); the exit code will be 1.`,
      { error, ...stackOf(error) },
    );
    if (this.#phase === 'running') this.#markFailed();
  }

  #begin(reason: ShutdownReason): void {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    this.#reason = reason;
    this.#startEvent = this.#coordinator.currentEvent;
    this.#startedAt = performance.now();
    const count = this.#hooks.size;
    this.#log(
      'info',
      `shutdown: ${reasonSummary(reason)}; running ${count} shutdown ${count === 1 ? 'hook' : 'hooks'}.`,
      { reason },
    );
    const { timeoutMs } = this.#settings;
    if (Number.isFinite(timeoutMs)) {
      this.#deadline = setTimeout(() => this.#onDeadline(), timeoutMs);
    }
    // Aborting runs the signal's listeners synchronously, so in-flight work hears about the
    // shutdown before the first hook starts.
    this.#abort.abort(reasonError(reason));
    this.#coordinator.started(this.#member, reason);
    void this.#run();
  }

  async #run(): Promise<void> {
    for (const entry of this.#hooks) {
      if (this.#phase !== 'running') return;
      await this.#runHook(entry);
    }
    if (this.#phase !== 'running') return;
    const reason = this.#reason!;
    this.#settle(
      { exitCode: this.#failed ? 1 : reason.code, timedOut: false, forced: false },
      false,
    );
  }

  #runHook(entry: HookEntry): Promise<void> {
    const reason = this.#reason!;
    const { name } = entry;
    const controller = new AbortController();
    const startedAt = performance.now();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (status: HookStatus, error?: ShutdownError) => {
        if (this.#reports.has(entry)) return;
        if (timer !== undefined) clearTimeout(timer);
        if (this.#current?.entry === entry) this.#current = undefined;
        const durationMs = performance.now() - startedAt;
        this.#reports.set(
          entry,
          error === undefined ? { name, status, durationMs } : { name, status, durationMs, error },
        );
        if (status === 'error' || status === 'timeout') this.#markFailed();
        if (status === 'ok')
          this.#log('debug', `shutdown: hook "${name}" finished.`, { hook: name, durationMs });
        resolve();
      };
      this.#current = {
        entry,
        interrupt: (status, error) => {
          controller.abort(error);
          finish(status, error);
        },
      };
      if (entry.timeoutMs !== Infinity) {
        timer = setTimeout(() => {
          const error = new ShutdownError(
            'HOOK_TIMEOUT',
            `Shutdown hook "${name}" did not finish within ${entry.timeoutMs} ms`,
            { hook: name },
          );
          this.#log(
            'error',
            `shutdown: hook "${name}" did not finish within ${entry.timeoutMs} ms.`,
            {
              hook: name,
              timeoutMs: entry.timeoutMs,
            },
          );
          controller.abort(error);
          finish('timeout', error);
        }, entry.timeoutMs);
      }
      const failed = (cause: unknown) => {
        if (this.#reports.has(entry)) return;
        const error = new ShutdownError('HOOK_FAILED', `Shutdown hook "${name}" failed`, {
          hook: name,
          cause,
        });
        this.#log('error', `shutdown: hook "${name}" failed: ${errorText(cause)}.`, {
          hook: name,
          error: cause,
        });
        finish('error', error);
      };
      this.#log('debug', `shutdown: running hook "${name}".`, { hook: name });
      try {
        const value = entry.hook({ signal: controller.signal, reason, name });
        Promise.resolve(value).then(() => finish('ok'), failed);
      } catch (cause) {
        failed(cause);
      }
    });
  }

  #onDeadline(): void {
    this.#deadline = undefined;
    this.#log(
      'error',
      `shutdown: the hooks did not finish within ${this.#settings.timeoutMs} ms.`,
      {
        timeoutMs: this.#settings.timeoutMs,
      },
    );
    this.#markFailed();
    this.#force('deadline', 1, false);
  }

  /** Ends the run now: cut the running hook off, skip the rest, run the force hooks, settle. */
  #force(cause: ForceCause, code: number, immediate: boolean, signal?: NodeJS.Signals): void {
    if (this.#phase !== 'running') return;
    const current = this.#current;
    if (current !== undefined) {
      const hook = current.entry.name;
      const error =
        cause === 'deadline'
          ? new ShutdownError(
              'DEADLINE',
              `Shutdown deadline passed while hook "${hook}" was running`,
              {
                hook,
              },
            )
          : new ShutdownError('FORCED', `Exit forced while hook "${hook}" was running`, {
              hook,
              signal,
            });
      current.interrupt(cause === 'deadline' ? 'timeout' : 'interrupted', error);
    }
    for (const entry of this.#hooks) {
      if (!this.#reports.has(entry)) {
        this.#reports.set(entry, { name: entry.name, status: 'skipped', durationMs: 0 });
      }
    }
    this.#runForceHooks(cause);
    this.#settle(
      { exitCode: code, timedOut: cause === 'deadline', forced: cause === 'signal' },
      immediate,
    );
  }

  #runForceHooks(cause: ForceCause): void {
    const reason = this.#reason!;
    for (const hook of [...this.#forceHooks]) {
      try {
        const value: unknown = hook(reason, cause);
        if (isThenable(value)) {
          // A forced exit cannot wait; keep a late rejection from becoming an unhandled one.
          Promise.resolve(value).catch(() => {});
          this.#log('warn', 'shutdown: a force hook returned a promise; it is not awaited.');
        }
      } catch (error) {
        this.#log('error', `shutdown: a force hook threw: ${errorText(error)}.`, { error });
      }
    }
  }

  #settle(
    outcome: Pick<ShutdownResult, 'exitCode' | 'timedOut' | 'forced'>,
    immediate: boolean,
  ): void {
    if (this.#phase !== 'running') return;
    this.#phase = 'settled';
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const hooks = [...this.#reports.values()];
    const result: ShutdownResult = {
      reason: this.#reason!,
      ...outcome,
      hooks,
      durationMs: performance.now() - this.#startedAt,
    };
    this.#result = result;
    this.#log('info', `shutdown: finished with exit code ${result.exitCode}.`, {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      forced: result.forced,
      durationMs: result.durationMs,
    });
    this.#resolveDone(result);
    this.#coordinator.settled(this.#member, immediate);
  }

  #markFailed(): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#settings.exit) this.#coordinator.failed();
  }

  /** The code of an exit forced by `signal`: the first signal's, or `signal`'s after a trigger. */
  #forceCode(signal: NodeJS.Signals | undefined): number {
    const reason = this.#reason;
    if (reason === undefined) return signal === undefined ? 1 : exitCodeForSignal(signal);
    if (reason.kind === 'trigger' && signal !== undefined) return exitCodeForSignal(signal);
    return reason.code;
  }

  #assertUsable(method: string): void {
    if (this.#disposed) {
      throw new ShutdownError('DISPOSED', `${method}() called on a disposed shutdown controller`);
    }
  }

  #log(level: keyof ShutdownLogger, message: string, details?: Record<string, unknown>): void {
    const write = this.#settings.logger[level];
    if (typeof write !== 'function') return;
    try {
      if (details === undefined) write.call(this.#settings.logger, message);
      else write.call(this.#settings.logger, message, details);
    } catch {
      // A broken logger must not stop the hooks or the exit.
    }
  }
}

function readOptions(options: ShutdownOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`createShutdown expected an options object, got ${describe(options)}`);
  }
  return {
    signals: readSignals(options.signals),
    timeoutMs: readTimeout(
      'createShutdown',
      'options.timeoutMs',
      options.timeoutMs,
      DEFAULT_TIMEOUT_MS,
    ),
    exit: readBoolean('exit', options.exit, true),
    handleErrors: readBoolean('handleErrors', options.handleErrors, false),
    forceExitOnSecondSignal: readBoolean(
      'forceExitOnSecondSignal',
      options.forceExitOnSecondSignal,
      true,
    ),
    forwardedSignalWindowMs: readTimeout(
      'createShutdown',
      'options.forwardedSignalWindowMs',
      options.forwardedSignalWindowMs,
      DEFAULT_FORWARDED_SIGNAL_WINDOW_MS,
    ),
    logger: readLogger(options.logger),
    process: readProcess(options.process),
  };
}

function readSignals(value: readonly NodeJS.Signals[] | undefined): readonly NodeJS.Signals[] {
  if (value === undefined) return DEFAULT_SIGNALS;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `createShutdown expected options.signals to be an array of signal names, got ${describe(value)}`,
    );
  }
  const signals = new Set<NodeJS.Signals>();
  for (const signal of value) {
    if (signalNumber(signal) === undefined) {
      throw new TypeError(
        `createShutdown expected options.signals to hold signal names such as 'SIGTERM', got ${describe(signal)}`,
      );
    }
    if (signal === 'SIGKILL' || signal === 'SIGSTOP') {
      throw new TypeError(
        `createShutdown expected catchable signals, got ${signal}, which no process can catch`,
      );
    }
    signals.add(signal);
  }
  return [...signals];
}

// Node turns a delay above this into 1 ms; such a long wait means "no deadline" anyway.
const MAX_TIMER_MS = 2 ** 31 - 1;

function readTimeout(method: string, field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new TypeError(
      `${method} expected ${field} to be a number of milliseconds >= 0, got ${describe(value)}`,
    );
  }
  return value > MAX_TIMER_MS ? Infinity : value;
}

function readBoolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(
      `createShutdown expected options.${field} to be a boolean, got ${describe(value)}`,
    );
  }
  return value;
}

function readLogger(value: ShutdownLogger | undefined): ShutdownLogger {
  if (value === undefined) {
    // Messages are whole sentences; the details are for structured loggers, and printing them
    // here would show a person raw objects. An uncaught error's stack is kept: without this
    // package, Node would have printed it.
    return {
      warn: (message) => console.warn(message),
      error: (message, details) =>
        console.error(
          typeof details?.stack === 'string' ? `${message}\n${details.stack}` : message,
        ),
    };
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `createShutdown expected options.logger to be an object, got ${describe(value)}`,
    );
  }
  return value;
}

function readProcess(value: ProcessLike | undefined): ProcessLike {
  if (value === undefined) return globalThis.process;
  const candidate = value as Partial<ProcessLike> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.on !== 'function' ||
    typeof candidate.off !== 'function' ||
    typeof candidate.exit !== 'function'
  ) {
    throw new TypeError(
      `createShutdown expected options.process to have on, off and exit methods, got ${describe(value)}`,
    );
  }
  return value;
}

function reasonError(reason: ShutdownReason): ShutdownError {
  switch (reason.kind) {
    case 'signal':
      return new ShutdownError('SIGNAL', `Received ${reason.signal}`, { signal: reason.signal });
    case 'trigger':
      return new ShutdownError(
        'TRIGGERED',
        reason.reason === undefined
          ? 'Shutdown triggered'
          : `Shutdown triggered: ${reasonText(reason.reason)}`,
        { cause: reason.reason instanceof Error ? reason.reason : undefined },
      );
    case 'error':
      return new ShutdownError(
        'UNCAUGHT',
        `Shutdown after an ${reason.origin === 'uncaughtException' ? 'uncaught exception' : 'unhandled rejection'}`,
        {
          cause: reason.error,
        },
      );
  }
}

function reasonSummary(reason: ShutdownReason): string {
  switch (reason.kind) {
    case 'signal':
      return `received ${reason.signal}`;
    case 'trigger':
      return reason.reason === undefined ? 'triggered' : `triggered (${reasonText(reason.reason)})`;
    case 'error':
      return `stopping after an ${reason.origin === 'uncaughtException' ? 'uncaught exception' : 'unhandled rejection'}`;
  }
}

function reasonText(reason: string | Error | undefined): string {
  if (reason instanceof Error) return reason.message;
  return reason ?? '';
}

/** What was thrown, in words: an error's message, a thrown string, or what kind of value it was. */
function errorText(error: unknown): string {
  if (error instanceof Error) return error.message === '' ? error.name : error.message;
  if (typeof error === 'string' && error !== '') return error;
  if (error !== null && (typeof error === 'object' || typeof error === 'function')) {
    return `it threw ${describe(error)}`;
  }
  return `it threw ${typeof error === 'string' ? 'an empty string' : String(error)}`;
}

/** The stack of an uncaught error, for the default logger. */
function stackOf(error: unknown): { stack?: string } {
  return error instanceof Error && typeof error.stack === 'string' ? { stack: error.stack } : {};
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
