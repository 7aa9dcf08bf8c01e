import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decomposePrd } from '@savepoint/decompose';
import { type OpenedRun, openRun, RunnerError, runPlanner } from '@savepoint/runner';
import { SessionManager, type SessionSummary } from '@savepoint/session';
import { createShutdown, settleWork } from '@savepoint/shutdown';
import { formatSharedRunOpening, readSharedRunConfig } from '@savepoint/store-postgres';
import {
  type Backlog,
  type BacklogIssue,
  formatIssue,
  parseBacklog,
  safeParseBacklog,
} from '@savepoint/task-schema';
import { type ExecutionOptions, execution } from '../args.ts';
import { CliError, EXIT } from '../errors.ts';
import { nonEmpty, single, UsageError } from '../options.ts';
import { type Io, runSession } from '../run.ts';
import { pickSession, type Store, storeUrl, withStore } from '../store.ts';
import { DEFAULT_LEASE_MS, workShared } from '../work.ts';
import type { CliCommand } from './shared.ts';

/** `savepoint run <prd.md>`: works through the PRD's backlog in its session. */
export const run: CliCommand = {
  async run(values, positionals, io) {
    const prdPath = resolve(single(positionals, 'run', '<prd.md>'));
    const { backlog: backlogPath, decompose } = values as { backlog?: string; decompose?: string };
    if (backlogPath !== undefined && decompose !== undefined) {
      throw new UsageError('--backlog and --decompose cannot be used together');
    }
    if (decompose !== undefined) nonEmpty(decompose, '--decompose');
    const command = execution(values);
    const prdText = await readText(prdPath, 'PRD');
    return withRunStore(command, io, async (store) => {
      const manager = new SessionManager({ prdPath, store: store.store });
      // Sessions are named after the hash of the PRD's bytes, whatever its encoding.
      const opened = await openRun(manager, {
        ...openOptions(command, store),
        prd: await readFile(prdPath),
        backlog: () => produceBacklog({ backlogPath, decompose }, prdPath, prdText),
        onExisting: (existing) => {
          if (store.kind !== 'file' || (backlogPath ?? decompose) === undefined) return;
          const given = backlogPath !== undefined ? '--backlog' : '--decompose';
          io.stderr.write(
            `Session ${existing.id} already exists for this PRD: resuming it; ${given} is only used for a new session\n`,
          );
        },
      });
      const { carried, state } = opened;
      if (carried.length > 0 && !command.json) {
        const parent = state.metadata.parentSession;
        io.stderr.write(`Carried over ${carried.length} Complete subtask(s) from ${parent}\n`);
      }
      return execute(manager, opened, command, io, store);
    });
  },
};

/** `savepoint resume`: continues a session without re-planning. */
export const resume: CliCommand = {
  positionals: false,
  async run(values, _positionals, io) {
    const command = execution(values);
    return withRunStore(command, io, async (store) => {
      const target = await pickSession(store.store, values.session as string | undefined);
      const manager = new SessionManager({ store: store.store });
      const opened = await openRun(manager, { ...openOptions(command, store), session: target });
      return execute(manager, opened, command, io, store);
    });
  },
};

/** `savepoint validate <tasks.json | session folder>`: checks a backlog file. */
export const validate: CliCommand = {
  async run(values, positionals, io) {
    const target = single(positionals, 'validate', '<tasks.json | session folder>');
    let file = resolve(target);
    const info = await stat(file).catch(() => undefined);
    if (!info) throw new CliError(`${target}: no such file or folder`);
    if (info.isDirectory()) file = join(file, 'tasks.json');
    const text = await readText(file, 'backlog');
    const parsed = safeParseBacklog(text, { source: file });
    const issues: readonly BacklogIssue[] = parsed.success ? parsed.warnings : parsed.error.issues;
    const errors = issues.filter((issue) => issue.severity === 'error').length;
    const warnings = issues.length - errors;
    if (values.json) {
      const result = { file, valid: errors === 0, errors, warnings, issues };
      io.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      for (const issue of issues) io.stdout.write(`${formatIssue(issue, { source: file })}\n`);
      io.stdout.write(
        `${file}: ${errors === 0 ? 'valid' : 'invalid'}, ${errors} error(s), ${warnings} warning(s)\n`,
      );
    }
    return errors === 0 ? EXIT.OK : EXIT.INPUT;
  },
};

/** Runs `work` with the store of `--store` or of the plan folder open; `--qa` needs the latter. */
async function withRunStore(
  command: ExecutionOptions,
  io: Io,
  work: (store: Store) => Promise<number>,
): Promise<number> {
  const flags = { store: command.store, 'plan-dir': command.planDir };
  if (command.qa !== undefined && storeUrl(flags, io.env) !== undefined) {
    throw new UsageError(
      '--qa is not available with --store: run the QA step once the session is done',
    );
  }
  return withStore(flags, io.env, work);
}

function openOptions(command: ExecutionOptions, { kind, store }: Store) {
  const { exec, retries, concurrency, scope, timeoutMs } = command;
  return {
    given: { exec, retries, concurrency, scope, timeoutMs },
    hasWorker: command.simulateMs !== undefined,
    ...(kind === 'postgres'
      ? { readConfig: (found: SessionSummary) => readSharedRunConfig(store, found.id) }
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
  store: Store,
): Promise<number> {
  if (store.kind === 'file') return runSession(manager, config, command, io);
  await manager.close();
  const concurrency = config.concurrency ?? 1;
  const opening = formatSharedRunOpening(state, {
    url: store.url,
    scope: config.scope,
    concurrency,
  });
  return workShared(
    store,
    state.metadata.id,
    config,
    { ...command, concurrency, leaseMs: DEFAULT_LEASE_MS, opening },
    io,
  );
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
