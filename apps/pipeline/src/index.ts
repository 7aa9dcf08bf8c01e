export { type ExecutionOptions, USAGE, UsageError } from './args.ts';
export { CliError, EXIT, main } from './main.ts';
export { type Io, runSession } from './run.ts';
