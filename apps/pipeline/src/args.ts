import { nonEmpty, oneOf, UsageError, wholeNumber } from './options.ts';

export { USAGE } from './help.ts';
export { UsageError } from './options.ts';

export type ProgressMode = 'auto' | 'always' | 'never';

/** Options shared by `run` and `resume` (and, in part, `work`): how the work is done. */
export interface ExecutionOptions {
  planDir: string;
  /** `--store`: a PostgreSQL URL (`SAVEPOINT_STORE` applies when absent). */
  store: string | undefined;
  /** Options left undefined were not given: the session's run.json (or the default) decides. */
  exec: string | undefined;
  simulateMs: number | undefined;
  retries: number | undefined;
  concurrency: number | undefined;
  scope: string | undefined;
  /** `--timeout`: the time limit of an attempt in ms, 0 for none. */
  timeoutMs: number | undefined;
  qa: string | undefined;
  progress: ProgressMode;
  json: boolean;
  /** `stream`: print every worker line prefixed with its item id; `quiet`: bar and failures. */
  output: 'stream' | 'quiet';
  /** When pending status changes are written: after each subtask, or after every change. */
  flush: 'subtask' | 'change';
}

/** The {@link ExecutionOptions} of parsed `run`, `resume` or `work` options; else a UsageError. */
export function execution(parsed: Record<string, string | boolean | undefined>): ExecutionOptions {
  const values = parsed as Partial<Record<string, string>> & { json?: boolean };
  const { exec, simulate } = values;
  if (exec !== undefined && simulate !== undefined) {
    throw new UsageError('--exec and --simulate cannot be used together');
  }
  const progress = oneOf(values.progress ?? 'auto', '--progress', ['auto', 'always', 'never']);
  const flush = oneOf(values.flush ?? 'subtask', '--flush', ['subtask', 'change']);
  const output = oneOf(values.output ?? 'quiet', '--output', ['quiet', 'stream']);
  return {
    flush,
    output,
    concurrency: optionalInteger(values.concurrency, '--concurrency', 1),
    planDir: values['plan-dir'] ?? 'plan',
    store: values.store,
    exec: exec === undefined ? undefined : nonEmpty(exec, '--exec'),
    simulateMs: optionalInteger(simulate, '--simulate'),
    retries: optionalInteger(values.retries, '--retries'),
    scope: values.scope,
    timeoutMs: optionalInteger(values.timeout, '--timeout'),
    qa: values.qa === undefined ? undefined : nonEmpty(values.qa, '--qa'),
    progress,
    json: values.json ?? false,
  };
}

function optionalInteger(value: string | undefined, flag: string, min = 0): number | undefined {
  return value === undefined ? undefined : wholeNumber(value, flag, 0, min);
}
