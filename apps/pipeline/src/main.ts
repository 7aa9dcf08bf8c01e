import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { decomposePrd } from '@savepoint/decompose';
import { formatRunConfig, type RunConfig, RunnerError, runPlanner } from '@savepoint/runner';
import {
  type BacklogSource,
  carryOverComplete,
  createFileStore,
  findSessionByPRD,
  readSession,
  SessionManager,
} from '@savepoint/session';
import { createShutdown, settleWork } from '@savepoint/shutdown';
import { readSharedRunConfig, redactConnectionString } from '@savepoint/store-postgres';
import {
  type Backlog,
  type BacklogIssue,
  createBacklogIndex,
  formatIssue,
  parseBacklog,
  safeParseBacklog,
} from '@savepoint/task-schema';
import { type Command, type ExecutionOptions, parseCommand, UsageError } from './args.ts';
import { COMMANDS, runCommand } from './commands/index.ts';
import { CliError, describeError, EXIT } from './errors.ts';
import { helpText } from './help.ts';
import { type Io, planRun, runConfigOf, runSession } from './run.ts';
import { openPostgres, pickSession, type StoreFlags, storeUrl } from './store.ts';
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
  if (storeUrl(flags(command), io.env) !== undefined)
    return runStored(command, prdPath, prdText, io);
  const planDir = resolve(command.planDir);

  // Everything that can fail on bad input happens before anything is written.
  // Sessions are named after the hash of the PRD's bytes, whatever its encoding.
  const existing = await findSessionByPRD(planDir, await readFile(prdPath));
  const config = needWorker(await planRun(existing?.path, command));
  let planned: Backlog | undefined;
  if (!existing) {
    planned = await produceBacklog(command, prdPath, prdText);
    checkScope(planned, config.scope);
  } else if (command.backlogPath !== undefined || command.decompose !== undefined) {
    io.stderr.write(
      `Session ${existing.id} already exists for this PRD: resuming it; ${command.backlogPath !== undefined ? '--backlog' : '--decompose'} is only used for a new session\n`,
    );
  }

  const manager = new SessionManager({ prdPath, planDir });
  await manager.initialize({ backlog: newBacklog(planned, command, prdPath, prdText, io) });
  return execute(manager, config, command, io);
}

/** The backlog of a new session: the one planned, carried over from the parent of a delta. */
function newBacklog(
  planned: Backlog | undefined,
  command: RunCommand,
  prdPath: string,
  prdText: string,
  io: Io,
): BacklogSource {
  return ({ parent }) => {
    // A session for this PRD appeared since the check above (another process made it).
    planned ??= decomposePrd(prdText, { source: prdPath });
    if (!parent) return planned;
    const { backlog, carried } = carryOverComplete(planned, parent.backlog);
    if (carried.length > 0 && !command.json) {
      io.stderr.write(
        `Carried over ${carried.length} Complete subtask(s) from ${parent.metadata.id}\n`,
      );
    }
    return backlog;
  };
}

/**
 * `run --store`: creates or resumes the PRD's session in the database by the same rules as in a
 * plan folder, stores its run.json there, then works it as `--concurrency` workers.
 */
async function runStored(
  command: RunCommand,
  prdPath: string,
  prdText: string,
  io: Io,
): Promise<number> {
  storeOnly(command);
  const pg = await openPostgres(flags(command), io.env, 'run');
  try {
    const manager = new SessionManager({ prdPath, store: pg.store });
    const existing = await manager.findSessionByPRD(await readFile(prdPath));
    const stored = existing ? await readSharedRunConfig(pg.store, existing.id) : {};
    const config = needWorker(runConfigOf(stored, command));
    let planned: Backlog | undefined;
    if (!existing) {
      planned = await produceBacklog(command, prdPath, prdText);
      checkScope(planned, config.scope);
    }
    const state = await manager.initialize({
      backlog: newBacklog(planned, command, prdPath, prdText, io),
    });
    try {
      checkScope(state.taskRegistry, config.scope);
      await manager.writeArtifact('run.json', formatRunConfig(config));
    } finally {
      await manager.close();
    }
    const what = state.isNew
      ? state.isDelta
        ? 'New delta session'
        : 'New session'
      : 'Resuming session';
    return await workShared(
      pg.store,
      state.metadata.id,
      config,
      sharedOptions(
        command,
        config,
        `${what} ${state.metadata.id} in ${redactConnectionString(pg.url)}`,
      ),
      io,
    );
  } finally {
    await pg.close().catch(() => undefined);
  }
}

/** `resume --store`: works a session of the database with its stored run.json (and the flags). */
async function resumeStored(command: ResumeCommand, io: Io): Promise<number> {
  storeOnly(command);
  const pg = await openPostgres(flags(command), io.env, 'resume');
  try {
    const target = await pickSession(pg.store, command.session);
    const stored = await readSharedRunConfig(pg.store, target.id);
    const config = needWorker(runConfigOf(stored, command));
    checkScope((await readSession(target.id, { store: pg.store })).backlog, config.scope);
    if (formatRunConfig(config) !== formatRunConfig(stored)) {
      const handle = await pg.store.open(target.id);
      try {
        await handle.writeArtifact('run.json', formatRunConfig(config));
      } finally {
        await handle.release();
      }
    }
    return await workShared(
      pg.store,
      target.id,
      config,
      sharedOptions(
        command,
        config,
        `Resuming session ${target.id} in ${redactConnectionString(pg.url)}`,
      ),
      io,
    );
  } finally {
    await pg.close().catch(() => undefined);
  }
}

function sharedOptions(command: ExecutionOptions, config: RunConfig, opening: string) {
  const concurrency = config.concurrency ?? 1;
  return {
    concurrency,
    leaseMs: DEFAULT_LEASE_MS,
    simulateMs: command.simulateMs,
    planDir: resolve(command.planDir),
    output: command.output,
    json: command.json,
    opening: `${opening}${config.scope ? `, scope ${config.scope}` : ''}, ${concurrency} worker(s)`,
  };
}

function flags(command: ExecutionOptions): StoreFlags {
  return { store: command.store, 'plan-dir': command.planDir };
}

/** What a run in a plan folder does that a run on a database store does not. */
function storeOnly(command: ExecutionOptions): void {
  if (command.qa !== undefined) {
    throw new UsageError(
      '--qa is not available with --store: run the QA step once the session is done',
    );
  }
}

async function resume(command: ResumeCommand, io: Io): Promise<number> {
  if (storeUrl(flags(command), io.env) !== undefined) return resumeStored(command, io);
  const planDir = resolve(command.planDir);
  const target = await pickSession(createFileStore(planDir), command.session);
  const config = needWorker(await planRun(target.path, command));
  const manager = new SessionManager({ planDir, prdPath: join(target.path, 'prd_snapshot.md') });
  await manager.loadSession(target.path);
  return execute(manager, config, command, io);
}

async function execute(
  manager: SessionManager,
  config: RunConfig,
  options: ExecutionOptions,
  io: Io,
): Promise<number> {
  try {
    checkScope(manager.currentSession!.taskRegistry, config.scope);
  } catch (error) {
    await manager.close();
    throw error;
  }
  return runSession(manager, config, options, io);
}

/** Simulated work happens only when asked for: no worker at all is a usage error. */
function needWorker(config: RunConfig | undefined): RunConfig {
  if (config) return config;
  throw new CliError(
    'no worker for this session: add --exec CMD to run CMD once per subtask (it is remembered for resume), or --simulate MS to pretend each subtask takes MS milliseconds',
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

function checkScope(backlog: Backlog, scope: string | undefined): void {
  if (scope === undefined) return;
  if (!createBacklogIndex(backlog).has(scope)) {
    throw new CliError(`unknown scope '${scope}': no item with that id in the backlog`);
  }
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
