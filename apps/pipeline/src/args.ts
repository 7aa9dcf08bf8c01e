import { parseArgs } from 'node:util';

/** A mistake in how the command was called: exit code 2, with the usage text. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ProgressMode = 'auto' | 'always' | 'never';

/** Options shared by `run` and `resume`: how the work is done. */
export interface ExecutionOptions {
  planDir: string;
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
  | { name: 'status'; planDir: string; session?: string; json: boolean; tree: boolean }
  | { name: 'validate'; target: string; json: boolean }
  | { name: 'sessions'; planDir: string; json: boolean }
  | { name: 'help'; topic?: string }
  | { name: 'version' };

export const USAGE = `Usage:
  savepoint run <prd.md> [--plan-dir DIR] [--backlog FILE | --decompose CMD] [--exec CMD | --simulate MS]
                         [--concurrency N] [--retries N] [--scope ID] [--qa CMD] [--output quiet|stream]
                         [--progress auto|always|never] [--json] [--flush subtask|change]
  savepoint resume [--plan-dir DIR] [--session ID] [execution options as for run]
  savepoint status [--plan-dir DIR] [--session ID] [--json] [--tree]
  savepoint validate <tasks.json | session folder> [--json]
  savepoint sessions [--plan-dir DIR] [--json]
  savepoint --version | --help

Options:
  --plan-dir DIR     where sessions live (default ./plan)
  --backlog FILE     use this tasks.json for a new session instead of decomposing the PRD
  --decompose CMD    run CMD (PRD path in SAVEPOINT_PRD); its stdout is the backlog for a new session
  --exec CMD         run CMD through the shell once per subtask; exit 0 means Complete. It gets
                     SAVEPOINT_ITEM_ID, SAVEPOINT_ITEM_TITLE, SAVEPOINT_ATTEMPT, SAVEPOINT_SESSION_DIR
                     and SAVEPOINT_ITEM_FILE (JSON: item, ancestors, context_scope, dependencies)
  --simulate MS      pretend each subtask takes MS milliseconds instead of running a command
  --concurrency N    run up to N subtasks at once (default 1)
  --retries N        extra attempts for a failing subtask (default 2)
  --scope ID         only run subtasks under this id (P1, P1.M2, P1.M2.T3 or P1.M2.T3.S4)
                     --exec, --concurrency, --retries and --scope are kept in the session's run.json:
                     resume reuses them, and one given again replaces the stored one
  --output MODE      quiet (default: progress and failures) or stream (every worker line, prefixed
                     with its item id); each attempt's output is kept in <session>/logs/
  --qa CMD           run CMD once when every subtask is Complete; failure output goes to TEST_RESULTS.md
  --progress MODE    auto (bar in a terminal, plain lines otherwise), always (bar) or never
  --json             print one JSON object on stdout at the end (progress goes to stderr)
  --flush WHEN       subtask (default): write status changes after each subtask; change: write
                     after every status change (slower, loses less of the subtask in flight)

Exit codes: 0 done, 1 some subtasks or QA failed, 2 usage or input error, 3 session locked,
130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.`;

const executionOptions = {
  'plan-dir': { type: 'string' },
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

/** Turns argv (without `node` and the script) into a command, or throws {@link UsageError}. */
export function parseCommand(argv: readonly string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    return { name: 'help', topic: rest[0] };
  }
  if (name === '--version' || name === '-v' || name === 'version') return { name: 'version' };

  switch (name) {
    case 'run': {
      const { values, positionals } = parse(rest, {
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
      const { values, positionals } = parse(rest, {
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
    case 'status': {
      const { values, positionals } = parse(rest, {
        'plan-dir': { type: 'string' },
        session: { type: 'string' },
        json: { type: 'boolean' },
        tree: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help) return { name: 'help', topic: name };
      none(positionals, name);
      return {
        name,
        planDir: values['plan-dir'] ?? 'plan',
        ...(values.session !== undefined ? { session: values.session } : {}),
        json: values.json ?? false,
        tree: values.tree ?? false,
      };
    }
    case 'validate': {
      const { values, positionals } = parse(rest, {
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
    case 'sessions': {
      const { values, positionals } = parse(rest, {
        'plan-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      });
      if (values.help) return { name: 'help', topic: name };
      none(positionals, name);
      return { name, planDir: values['plan-dir'] ?? 'plan', json: values.json ?? false };
    }
    default:
      throw new UsageError(`unknown command '${name}'`);
  }
}

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

function parse<T extends Spec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
}

function execution(values: Record<string, string | boolean | undefined>): ExecutionOptions {
  const exec = values.exec as string | undefined;
  const simulate = values.simulate as string | undefined;
  if (exec !== undefined && simulate !== undefined) {
    throw new UsageError('--exec and --simulate cannot be used together');
  }
  const progress = (values.progress as string | undefined) ?? 'auto';
  if (progress !== 'auto' && progress !== 'always' && progress !== 'never') {
    throw new UsageError(`--progress must be auto, always or never, not '${progress}'`);
  }
  const flush = (values.flush as string | undefined) ?? 'subtask';
  if (flush !== 'subtask' && flush !== 'change') {
    throw new UsageError(`--flush must be subtask or change, not '${flush}'`);
  }
  const output = (values.output as string | undefined) ?? 'quiet';
  if (output !== 'quiet' && output !== 'stream') {
    throw new UsageError(`--output must be quiet or stream, not '${output}'`);
  }
  const concurrency = optionalInteger(values.concurrency as string | undefined, '--concurrency');
  if (concurrency === 0) throw new UsageError('--concurrency must be 1 or more');
  return {
    flush,
    output,
    concurrency,
    planDir: (values['plan-dir'] as string | undefined) ?? 'plan',
    exec: exec === undefined ? undefined : nonEmpty(exec, '--exec'),
    simulateMs: optionalInteger(simulate, '--simulate'),
    retries: optionalInteger(values.retries as string | undefined, '--retries'),
    scope: values.scope as string | undefined,
    qa: values.qa === undefined ? undefined : nonEmpty(values.qa as string, '--qa'),
    progress,
    json: (values.json as boolean | undefined) ?? false,
  };
}

function optionalInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} takes a whole number of 0 or more, not '${value}'`);
  }
  return Number(value);
}

function nonEmpty(value: string, flag: string): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a command`);
  return value;
}

function single(positionals: string[], command: string, what: string): string {
  if (positionals.length === 0) throw new UsageError(`${command} needs ${what}`);
  if (positionals.length > 1) {
    throw new UsageError(
      `${command} takes one ${what}, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  return positionals[0]!;
}

function none(positionals: string[], command: string): void {
  if (positionals.length > 0) {
    throw new UsageError(`${command} takes no arguments, got: ${positionals.join(' ')}`);
  }
}
