/**
 * Why a {@link ShutdownError} was made.
 *
 * - `SIGNAL`: the reason of `shutdown.signal` after a process signal; `signal` names it.
 * - `TRIGGERED`: the reason of `shutdown.signal` after `trigger()`; `cause` holds an `Error` reason.
 * - `UNCAUGHT`: the reason of `shutdown.signal` after `uncaughtException` or `unhandledRejection`
 *   (with `handleErrors: true`); `cause` holds what was thrown.
 * - `HOOK_FAILED`: a hook threw or rejected; `hook` names it, `cause` holds what it threw.
 * - `HOOK_TIMEOUT`: a hook outlived its own `timeoutMs`; `hook` names it.
 * - `DEADLINE`: the overall `timeoutMs` passed while a hook was running; `hook` names it.
 * - `FORCED`: a second signal cut the running hook short; `hook` and `signal` name them.
 * - `DISPOSED`: the controller was used after `dispose()`.
 */
export type ShutdownErrorCode =
  | 'SIGNAL'
  | 'TRIGGERED'
  | 'UNCAUGHT'
  | 'HOOK_FAILED'
  | 'HOOK_TIMEOUT'
  | 'DEADLINE'
  | 'FORCED'
  | 'DISPOSED';

/** Fields a {@link ShutdownError} may carry besides its code and message. */
export interface ShutdownErrorOptions {
  /** The signal that started the shutdown or forced it. */
  signal?: NodeJS.Signals | undefined;
  /** The name of the hook the error is about. */
  hook?: string | undefined;
  /** The underlying error or thrown value. */
  cause?: unknown;
}

/**
 * The one error class of `@savepoint/shutdown`. It is used as the abort reason of
 * `shutdown.signal` and of each hook's `ctx.signal`, and it wraps every hook failure in
 * `ShutdownResult.hooks`.
 *
 * @example
 * ```ts
 * shutdown.signal.addEventListener('abort', () => {
 *   const reason = shutdown.signal.reason as ShutdownError;
 *   console.log(reason.code, reason.signal); // 'SIGNAL' 'SIGTERM'
 * });
 * ```
 */
export class ShutdownError extends Error {
  /** What happened; a closed set, safe to switch on. */
  readonly code: ShutdownErrorCode;
  /** The signal involved, when one was. */
  readonly signal: NodeJS.Signals | undefined;
  /** The hook involved, when one was. */
  readonly hook: string | undefined;

  constructor(code: ShutdownErrorCode, message: string, options: ShutdownErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShutdownError';
    this.code = code;
    this.signal = options.signal;
    this.hook = options.hook;
  }
}

/**
 * True when `value` is a {@link ShutdownError}, optionally with the given code. It checks the
 * error's shape rather than `instanceof`, so errors made by another copy of this package (the CJS
 * build next to the ESM one, say) are recognised too.
 *
 * @example
 * ```ts
 * if (isShutdownError(ctx.signal.reason, 'HOOK_TIMEOUT')) stopWriting();
 * ```
 */
export function isShutdownError(value: unknown, code?: ShutdownErrorCode): value is ShutdownError {
  if (!(value instanceof Error) || value.name !== 'ShutdownError') return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
