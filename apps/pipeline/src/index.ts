export { type Command, type ExecutionOptions, parseCommand, USAGE, UsageError } from './args.ts';
export { carryOverComplete } from './carry-over.ts';
export {
  DecomposeError,
  type DecomposeErrorCode,
  type DecomposeOptions,
  decomposePrd,
  NON_WORK_SECTIONS,
} from './decompose.ts';
export { executeSession, type Io, type RunOutcome } from './execute.ts';
export { CliError, EXIT, main } from './main.ts';
export { runShellCommand, type ShellOptions, simulateWork, type WorkerResult } from './worker.ts';
