export type { ShutdownErrorCode, ShutdownErrorOptions } from './errors.ts';
export { isShutdownError, ShutdownError } from './errors.ts';
export { exitCodeForSignal } from './exit-codes.ts';
export {
  onShutdownSave,
  type SaveStep,
  type SaveSteps,
  type SettledWork,
  settleWork,
} from './save-steps.ts';
export {
  createShutdown,
  DEFAULT_FORWARDED_SIGNAL_WINDOW_MS,
  DEFAULT_SIGNALS,
  DEFAULT_TIMEOUT_MS,
} from './shutdown.ts';
export type {
  ForceCause,
  ForceHook,
  HookContext,
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
