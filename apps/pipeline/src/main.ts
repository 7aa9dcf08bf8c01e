import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { decomposePrd } from '@savepoint/decompose';
import { type OpenedRun, openRun, RunnerError, runPlanner } from '@savepoint/runner';
import { createFileStore, SessionManager, type SessionSummary } from '@savepoint/session';
import { createShutdown, settleWork } from '@savepoint/shutdown';
import { readSharedRunConfig, redactConnectionString } from '@savepoint/store-postgres';
import {
  type Backlog,
  type BacklogIssue,
  formatIssue,
  parseBacklog,
  safeParseBacklog,
} from '@savepoint/task-schema';
import { type Command, type ExecutionOptions, parseCommand, UsageError } from './args.ts';
import { COMMANDS, runCommand } from './commands/index.ts';
import { CliError, describeError, EXIT } from './errors.ts';
import { helpText } from './help.ts';
import { type Io, runSession } from './run.ts';
import { type PostgresOpen, pickSession, storeUrl, withPostgres } from './store.ts';
import { DEFAULT_LEASE_MS, workShared } from './work.ts';

export { CliError, EXIT } from './errors.ts';

/**
 * Runs the CLI with `argv` (without `node` and the script name) and returns its exit code. Signals
 * during `run`/`resume` end the process from the shutdown hooks with 130/143/129.
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${helpText()}\n`);
    return EXIT.INPUT;
  }
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((arg) => arg === '--help' || arg === '-h')) {
    io.stdout.write(`${helpText(name)}\n`);
    return EXIT.OK;
  }
  let command: Command | undefined;
  try {
    if (!(name in COMMANDS)) command = parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      const see = KNOWN.has(name) ? `savepoint ${name} --help` : 'savepoint --help';
      io.stderr.write(`savepoint: ${error.message}\nsee: ${see}\n`);
      return EXIT.INPUT;
    }
    throw error;
  }
  try {
    if (!command) return await runCommand(name, rest, io);
    switch (command.name) {
      case 'help':
        io.stdout.write(`${helpText(command.topic)}\n`);
        return EXIT.OK;
      case 'version':
        io.stdout.write(`${version()}\n`);
        return EXIT.OK;
      case 'run':
        return await run(command, io);
      case 'resume':
        return await resume(command, io);
      case 'validate':
        return await validate(command, io);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`savepoint: ${error.message}\nsee: savepoint ${name} --help\n`);
      return EXIT.INPUT;
    }
    const planDir = error instanceof CliError ? undefined : planDirOf(command, rest);
    const { message, exitCode } = describeError(error, planDir);
    io.stderr.write(`savepoint: ${message}\n`);
    return exitCode;
  }
}

const KNOWN = new Set(['run', 'resume', 'validate', ...Object.keys(COMMANDS)]);

function planDirOf(command: Command | undefined, rest: readonly string[]): string | undefined {
  if (command) return 'planDir' in command ? resolve(command.planDir) : undefined;
  const at = rest.indexOf('--plan-dir');
  const given = rest.find((arg) => arg.startsWith('--plan-dir='))?.slice(11);
  return resolve((at >= 0 ? rest[at + 1] : given) ?? 'plan');
}

type RunCommand = Extract<Command, { name: 'run' }>;
type ResumeCommand = Extract<Command, { name: 'resume' }>;

async function run(command: RunCommand, io: Io): Promise<number> {
  const prdPath = resolve(command.prdPath);
  const prdText = await readText(prdPath, 'PRD');
  return withRunStore(command, io, 'run', async (pg) => {
    const place = pg ? { store: pg.store } : { planDir: resolve(command.planDir) };
    const manager = new SessionManager({ prdPath, ...place });
    // Sessions are named after the hash of the PRD's bytes, whatever its encoding.
    const opened = await openRun(manager, {
      ...openOptions(command, pg),
      prd: await readFile(prdPath),
      backlog: () => produceBacklog(command, prdPath, prdText),
      onExisting: (existing) => {
        if (pg || (command.backlogPath === undefined && command.decompose === undefined)) return;
        const given = command.backlogPath !== undefined ? '--backlog' : '--decompose';
        io.stderr.write(
          `Session ${existing.id} already exists for this PRD: resuming it; ${given} is only used for a new session\n`,
        );
      },
    });
    const parent = opened.state.metadata.parentSession;
    if (opened.carried.length > 0 && !command.json) {
      io.stderr.write(`Carried over ${opened.carried.length} Complete subtask(s) from ${parent}\n`);
    }
    return execute(manager, opened, command, io, pg);
  });
}

async function resume(command: ResumeCommand, io: Io): Promise<number> {
  return withRunStore(command, io, 'resume', async (pg) => {
    const planDir = resolve(command.planDir);
    const target = await pickSession(pg?.store ?? createFileStore(planDir), command.session);
    const prdPath = join(target.path, 'prd_snapshot.md');
    const manager = new SessionManager(pg ? { store: pg.store } : { planDir, prdPath });
    const opened = await openRun(manager, { ...openOptions(command, pg), session: target });
    return execute(manager, opened, command, io, pg);
  });
}

/** Runs `work` with the database of a `--store` URL open, or with none for a plan folder. */
async function withRunStore(
  command: ExecutionOptions,
  io: Io,
  name: string,
  work: (pg: PostgresOpen | undefined) => Promise<number>,
): Promise<number> {
  const flags = { store: command.store, 'plan-dir': command.planDir };
  if (storeUrl(flags, io.env) === undefined) return work(undefined);
  if (command.qa !== undefined) {
    throw new UsageError(
      '--qa is not available with --store: run the QA step once the session is done',
    );
  }
  return withPostgres(flags, io.env, name, work);
}

function openOptions(command: ExecutionOptions, pg: PostgresOpen | undefined) {
  const { exec, retries, concurrency, scope } = command;
  return {
    given: { exec, retries, concurrency, scope },
    hasWorker: command.simulateMs !== undefined,
    ...(pg
      ? { readConfig: (found: SessionSummary) => readSharedRunConfig(pg.store, found.id) }
      : {}),
  };
}

/**
 * Works the opened session: held by this process in a plan folder; in a database it is let go
 * and worked as `--concurrency` workers of the shared session.
 */
async function execute(
  manager: SessionManager,
  { state, config }: OpenedRun,
  command: ExecutionOptions,
  io: Io,
  pg: PostgresOpen | undefined,
): Promise<number> {
  if (!pg) return runSession(manager, config, command, io);
  await manager.close();
  const what = state.isNew
    ? state.isDelta
      ? 'New delta session'
      : 'New session'
    : 'Resuming session';
  const concurrency = config.concurrency ?? 1;
  return workShared(
    pg.store,
    state.metadata.id,
    config,
    {
      concurrency,
      leaseMs: DEFAULT_LEASE_MS,
      simulateMs: command.simulateMs,
      planDir: resolve(command.planDir),
      output: command.output,
      json: command.json,
      opening:
        `${what} ${state.metadata.id} in ${redactConnectionString(pg.url)}` +
        `${config.scope ? `, scope ${config.scope}` : ''}, ${concurrency} worker(s)`,
    },
    io,
  );
}

async function validate(command: Extract<Command, { name: 'validate' }>, io: Io): Promise<number> {
  let file = resolve(command.target);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CliError(`${command.target}: no such file or folder`);
  if (info.isDirectory()) file = join(file, 'tasks.json');
  const text = await readText(file, 'backlog');
  const parsed = safeParseBacklog(text, { source: file });
  const issues: readonly BacklogIssue[] = parsed.success ? parsed.warnings : parsed.error.issues;
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const warnings = issues.length - errors;
  if (command.json) {
    io.stdout.write(`${JSON.stringify({ file, valid: errors === 0, errors, warnings, issues })}\n`);
  } else {
    for (const issue of issues) io.stdout.write(`${formatIssue(issue, { source: file })}\n`);
    io.stdout.write(
      `${file}: ${errors === 0 ? 'valid' : 'invalid'}, ${errors} error(s), ${warnings} warning(s)\n`,
    );
  }
  return errors === 0 ? EXIT.OK : EXIT.INPUT;
}

/** The backlog of a new session: `--backlog`, `--decompose`, or the built-in outline decomposer. */
export async function produceBacklog(
  command: { backlogPath?: string | undefined; decompose?: string | undefined },
  prdPath: string,
  prdText: string,
): Promise<Backlog> {
  if (command.backlogPath !== undefined) {
    const file = resolve(command.backlogPath);
    return parseBacklog(await readText(file, 'backlog'), { source: file });
  }
  if (command.decompose !== undefined) return plan(command.decompose, prdPath);
  return decomposePrd(prdText, { source: prdPath });
}

export async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${file}: ${what} file not found`);
    if (code === 'EISDIR') throw new CliError(`${file}: expected a ${what} file, found a folder`);
    if (code === 'EACCES')
      throw new CliError(`${file}: permission denied reading the ${what} file`);
    throw new CliError(
      `${file}: cannot read the ${what} file (${code ?? (error as Error).message})`,
    );
  }
}

/**
 * Runs the `--decompose` command in a process group of its own and parses its stdout. A signal
 * meanwhile ends that group before the CLI exits 130/143/129; nothing has been written by then.
 */
async function plan(command: string, prdPath: string): Promise<Backlog> {
  const say = (message: string) => process.stderr.write(`${message}\n`);
  const shutdown = createShutdown({ logger: { warn: say, error: say } });
  const source = `output of --decompose '${command}'`;
  const planner = runPlanner(command, { prdPath, signal: shutdown.signal, graceMs: 2000, source });
  shutdown.onShutdown(() => planner.catch(() => undefined), { name: 'stop the planner' });
  const planned = await settleWork(shutdown, planner).catch((error: unknown) => {
    shutdown.dispose();
    if (!(error instanceof RunnerError)) throw error;
    throw new CliError(`--decompose '${command}' ${error.message}`);
  });
  if (!planned.done) {
    throw new CliError('interrupted while planning; nothing was written', planned.exitCode);
  }
  shutdown.dispose();
  return planned.value;
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
