import { nonEmpty, none, oneOf, parseOptions, single, UsageError, wholeNumber } from './options.ts';

export { USAGE } from './help.ts';
export { UsageError } from './options.ts';

export type ProgressMode = 'auto' | 'always' | 'never';

/** Options shared by `run` and `resume`: how the work is done. */
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
  qa: string | undefined;
  progress: ProgressMode;
  json: boolean;
  /** `stream`: print every worker line prefixed with its item id; `quiet`: bar and failures. */
  output: 'stream' | 'quiet';
  /** When pending status changes are written: after each subtask, or after every change. */
  flush: 'subtask' | 'change';
}

export type Command =
  | ({ name: 'run'; prdPath: string; backlogPath?: string; decompose?: string } & ExecutionOptions)
  | ({ name: 'resume'; session?: string } & ExecutionOptions)
  | { name: 'validate'; target: string; json: boolean }
  | { name: 'help'; topic?: string }
  | { name: 'version' };

const executionOptions = {
  'plan-dir': { type: 'string' },
  store: { type: 'string' },
  exec: { type: 'string' },
  simulate: { type: 'string' },
  concurrency: { type: 'string' },
  output: { type: 'string' },
  retries: { type: 'string' },
  scope: { type: 'string' },
  qa: { type: 'string' },
  progress: { type: 'string' },
  json: { type: 'boolean' },
  flush: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type ExecutionValues = ReturnType<typeof parseOptions<typeof executionOptions>>['values'];

/** Turns argv (without `node` and the script) into a command, or throws {@link UsageError}. */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    return { name: 'help', topic: rest[0] };
  }
  if (name === '--version' || name === '-v' || name === 'version') return { name: 'version' };

  switch (name) {
    case 'run': {
      const { values, positionals } = parseOptions(rest, {
        ...executionOptions,
        backlog: { type: 'string' },
        decompose: { type: 'string' },
      });
      if (values.help) return { name: 'help', topic: name };
      const prdPath = single(positionals, 'run', '<prd.md>');
      if (values.backlog !== undefined && values.decompose !== undefined) {
        throw new UsageError('--backlog and --decompose cannot be used together');
      }
      return {
        name,
        prdPath,
        ...(values.backlog !== undefined ? { backlogPath: values.backlog } : {}),
        ...(values.decompose !== undefined
          ? { decompose: nonEmpty(values.decompose, '--decompose') }
          : {}),
        ...execution(values),
      };
    }
    case 'resume': {
      const { values, positionals } = parseOptions(rest, {
        ...executionOptions,
        session: { type: 'string' },
      });
      if (values.help) return { name: 'help', topic: name };
      none(positionals, name);
      return {
        name,
        ...(values.session !== undefined ? { session: values.session } : {}),
        ...execution(values),
      };
    }
    case 'validate': {
      const { values, positionals } = parseOptions(rest, {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help) return { name: 'help', topic: name };
      return {
        name,
        target: single(positionals, name, '<tasks.json | session folder>'),
        json: values.json ?? false,
      };
    }
    default:
      throw new UsageError(`unknown command '${name}'`);
  }
}

function execution(values: ExecutionValues): ExecutionOptions {
  const { exec, simulate } = values;
  if (exec !== undefined && simulate !== undefined) {
    throw new UsageError('--exec and --simulate cannot be used together');
  }
  const progress = oneOf(values.progress ?? 'auto', '--progress', ['auto', 'always', 'never']);
  const flush = oneOf(values.flush ?? 'subtask', '--flush', ['subtask', 'change']);
  const output = oneOf(values.output ?? 'quiet', '--output', ['quiet', 'stream']);
  const concurrency = optionalInteger(values.concurrency, '--concurrency');
  if (concurrency === 0) throw new UsageError('--concurrency must be 1 or more');
  return {
    flush,
    output,
    concurrency,
    planDir: values['plan-dir'] ?? 'plan',
    store: values.store,
    exec: exec === undefined ? undefined : nonEmpty(exec, '--exec'),
    simulateMs: optionalInteger(simulate, '--simulate'),
    retries: optionalInteger(values.retries, '--retries'),
    scope: values.scope,
    qa: values.qa === undefined ? undefined : nonEmpty(values.qa, '--qa'),
    progress,
    json: values.json ?? false,
  };
}

function optionalInteger(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : wholeNumber(value, flag, 0);
}
