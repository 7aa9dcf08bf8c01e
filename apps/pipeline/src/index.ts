export { type Command, type ExecutionOptions, parseCommand, USAGE, UsageError } from './args.ts';
export { carryOverComplete } from './carry-over.ts';
export {
  DecomposeError,
  type DecomposeErrorCode,
  type DecomposeOptions,
  decomposePrd,
  NON_WORK_SECTIONS,
} from './decompose.ts';
export { CliError, EXIT, main } from './main.ts';
export { type Io, planRun, runSession } from './run.ts';
