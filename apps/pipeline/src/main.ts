import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import {
  findLatestSession,
  findSessionByPRD,
  listSessions,
  readSession,
  SessionError,
  SessionManager,
  type SessionSummary,
} from '@savepoint/session';
import {
  type Backlog,
  BacklogError,
  type BacklogIssue,
  checkBacklog,
  createBacklogIndex,
  formatIssue,
  parseBacklog,
  type Status,
  safeParseBacklog,
} from '@savepoint/task-schema';
import { type Command, type ExecutionOptions, parseCommand, USAGE, UsageError } from './args.ts';
import { carryOverComplete } from './carry-over.ts';
import { decomposePrd } from './decompose.ts';
import { executeSession, type Io, round1, sumCounts } from './execute.ts';
import { renderTree } from './tree.ts';

/** Exit codes of the `savepoint` CLI. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  INPUT: 2,
  LOCKED: 3,
} as const;

/** An error the CLI reports as one clear message and an exit code, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.INPUT,
  ) {
    super(message);
  }
}

/**
 * Runs the CLI with `argv` (without `node` and the script name) and returns its exit code. Signals
 * during `run`/`resume` end the process from the shutdown hooks with 130/143/129.
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`savepoint: ${error.message}\n\n${USAGE}\n`);
      return EXIT.INPUT;
    }
    throw error;
  }
  try {
    switch (command.name) {
      case 'help':
        io.stdout.write(`${USAGE}\n`);
        return EXIT.OK;
      case 'version':
        io.stdout.write(`${version()}\n`);
        return EXIT.OK;
      case 'run':
        return await run(command, io);
      case 'resume':
        return await resume(command, io);
      case 'status':
        return await status(command, io);
      case 'validate':
        return await validate(command, io);
      case 'sessions':
        return await sessions(command, io);
    }
  } catch (error) {
    const { message, exitCode } = describeError(error);
    io.stderr.write(`savepoint: ${message}\n`);
    return exitCode;
  }
}

type RunCommand = Extract<Command, { name: 'run' }>;
type ResumeCommand = Extract<Command, { name: 'resume' }>;

async function run(command: RunCommand, io: Io): Promise<number> {
  const prdPath = resolve(command.prdPath);
  const prdText = await readText(prdPath, 'PRD');
  const planDir = resolve(command.planDir);

  // Everything that can fail on bad input happens before anything is written.
  // Sessions are named after the hash of the PRD's bytes, whatever its encoding.
  const existing = await findSessionByPRD(planDir, await readFile(prdPath));
  let planned: Backlog | undefined;
  if (!existing) {
    planned = await produceBacklog(command, prdPath, prdText);
    checkScope(planned, command.scope);
  } else if (command.backlogPath !== undefined || command.decompose !== undefined) {
    io.stderr.write(
      `Session ${existing.id} already exists for this PRD: resuming it; ${command.backlogPath !== undefined ? '--backlog' : '--decompose'} is only used for a new session\n`,
    );
  }

  const manager = new SessionManager({ prdPath, planDir });
  await manager.initialize({
    backlog: ({ parent }) => {
      // A session for this PRD appeared since the check above (another process made it).
      if (!planned) planned = decomposePrd(prdText);
      if (!parent) return planned;
      const { backlog, carried } = carryOverComplete(planned, parent.backlog);
      if (carried.length > 0 && !command.json) {
        io.stderr.write(
          `Carried over ${carried.length} Complete subtask(s) from ${parent.metadata.id}\n`,
        );
      }
      return backlog;
    },
  });
  return execute(manager, command, io);
}

async function resume(command: ResumeCommand, io: Io): Promise<number> {
  const planDir = resolve(command.planDir);
  const target = await pickSession(planDir, command.session);
  const manager = new SessionManager({ planDir, prdPath: join(target.path, 'prd_snapshot.md') });
  await manager.loadSession(target.path);
  return execute(manager, command, io);
}

async function execute(
  manager: SessionManager,
  options: ExecutionOptions,
  io: Io,
): Promise<number> {
  const state = manager.currentSession;
  if (!state) throw new CliError('no session is open');
  try {
    checkScope(state.taskRegistry, options.scope);
  } catch (error) {
    await manager.close();
    throw error;
  }
  const outcome = await executeSession(manager, state, options, io);
  return outcome.exitCode;
}

async function status(command: Extract<Command, { name: 'status' }>, io: Io): Promise<number> {
  const planDir = resolve(command.planDir);
  const target = await pickSession(planDir, command.session);
  const snapshot = await readSession(target.path);
  const index = createBacklogIndex(snapshot.backlog);
  const counts = index.countByStatus();
  const total = sumCounts(counts) - counts.Obsolete;
  const remaining = total - counts.Complete - counts.Failed;
  const report = {
    session: snapshot.metadata.id,
    total,
    completed: counts.Complete,
    failed: counts.Failed,
    remaining,
    percentage: total === 0 ? 100 : round1((counts.Complete / total) * 100),
    currentItemId: snapshot.currentItemId,
    byStatus: counts,
  };
  if (command.json) {
    io.stdout.write(
      `${JSON.stringify(command.tree ? { ...report, backlog: snapshot.backlog } : report)}\n`,
    );
    return EXIT.OK;
  }
  const lines = [
    `Session ${report.session}${snapshot.metadata.parentSession ? ` (parent ${snapshot.metadata.parentSession})` : ''}`,
    `  ${report.completed}/${report.total} complete (${report.percentage.toFixed(1)}%), ${report.failed} failed, ${report.remaining} remaining`,
    `  current item: ${report.currentItemId ?? 'none'}`,
    `  by status: ${formatCounts(counts)}`,
  ];
  if (command.tree) lines.push('', ...renderTree(snapshot.backlog));
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}

async function validate(command: Extract<Command, { name: 'validate' }>, io: Io): Promise<number> {
  let file = resolve(command.target);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CliError(`${command.target}: no such file or folder`);
  if (info.isDirectory()) file = join(file, 'tasks.json');
  const text = await readText(file, 'backlog');
  const parsed = safeParseBacklog(text, { source: file });
  const issues: readonly BacklogIssue[] = parsed.success
    ? [...checkBacklog(parsed.data)]
    : parsed.error.issues;
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

async function sessions(command: Extract<Command, { name: 'sessions' }>, io: Io): Promise<number> {
  const planDir = resolve(command.planDir);
  const found = await listSessions(planDir);
  const rows = [];
  for (const summary of found) {
    const snapshot = await readSession(summary.path);
    const counts = createBacklogIndex(snapshot.backlog).countByStatus();
    const total = sumCounts(counts) - counts.Obsolete;
    rows.push({
      id: summary.id,
      sequence: summary.sequence,
      hash: summary.hash,
      parent: snapshot.metadata.parentSession,
      createdAt: summary.createdAt.toISOString(),
      total,
      completed: counts.Complete,
      failed: counts.Failed,
      percentage: total === 0 ? 100 : round1((counts.Complete / total) * 100),
    });
  }
  if (command.json) {
    io.stdout.write(`${JSON.stringify({ planDir, sessions: rows })}\n`);
    return EXIT.OK;
  }
  if (rows.length === 0) {
    io.stdout.write(`No sessions in ${planDir}\n`);
    return EXIT.OK;
  }
  io.stdout.write('SEQ  HASH          PARENT            CREATED                   PROGRESS\n');
  for (const row of rows) {
    io.stdout.write(
      `${String(row.sequence).padStart(3, '0')}  ${row.hash}  ${(row.parent ?? '-').padEnd(16)}  ${row.createdAt}  ${row.completed}/${row.total} (${row.percentage.toFixed(1)}%)${row.failed ? `, ${row.failed} failed` : ''}\n`,
    );
  }
  return EXIT.OK;
}

/** The backlog of a new session: `--backlog`, `--decompose`, or the built-in outline decomposer. */
async function produceBacklog(
  command: RunCommand,
  prdPath: string,
  prdText: string,
): Promise<Backlog> {
  if (command.backlogPath !== undefined) {
    const file = resolve(command.backlogPath);
    return parseBacklog(await readText(file, 'backlog'), { source: file });
  }
  if (command.decompose !== undefined) {
    const output = await captureCommand(command.decompose, { SAVEPOINT_PRD: prdPath });
    return parseBacklog(output, { source: `output of --decompose '${command.decompose}'` });
  }
  return decomposePrd(prdText);
}

function checkScope(backlog: Backlog, scope: string | undefined): void {
  if (scope === undefined) return;
  if (!createBacklogIndex(backlog).has(scope)) {
    throw new CliError(`unknown scope '${scope}': no item with that id in the backlog`);
  }
}

async function pickSession(planDir: string, wanted: string | undefined): Promise<SessionSummary> {
  if (wanted === undefined) {
    const latest = await findLatestSession(planDir);
    if (!latest)
      throw new CliError(`no session in ${planDir}; start one with: savepoint run <prd.md>`);
    return latest;
  }
  const all = await listSessions(planDir);
  const match = all.find(
    (s) =>
      s.id === wanted ||
      (/^\d+$/.test(wanted) && s.sequence === Number(wanted)) ||
      s.hash === wanted,
  );
  if (!match) {
    const known = all.map((s) => s.id).join(', ') || 'none';
    throw new CliError(`no session '${wanted}' in ${planDir} (sessions: ${known})`);
  }
  return match;
}

async function readText(file: string, what: string): Promise<string> {
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

function captureCommand(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-2000);
    });
    child.once('error', (error) =>
      reject(new CliError(`--decompose '${command}' could not start: ${error.message}`)),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new CliError(
            `--decompose '${command}' exited with ${signal ? `signal ${signal}` : code}${err ? `: ${err.trim()}` : ''}`,
          ),
        );
    });
  });
}

function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof BacklogError) {
    const shown = error.issues.filter((issue) => issue.severity === 'error').slice(0, 20);
    const lines = shown.map((issue) => `  ${formatIssue(issue)}`);
    const more =
      error.issues.length > shown.length
        ? [`  ... and ${error.issues.length - shown.length} more`]
        : [];
    const head = error.source ? `${error.source}: invalid backlog (${error.code})` : error.message;
    return { message: [head, ...lines, ...more].join('\n'), exitCode: EXIT.INPUT };
  }
  if (error instanceof SessionError) {
    if (error.code === 'LOCKED') return { message: error.message, exitCode: EXIT.LOCKED };
    if (
      error.code === 'INVALID_BACKLOG' ||
      error.code === 'NOT_FOUND' ||
      error.code === 'INCOMPLETE_SESSION' ||
      error.code === 'CORRUPT' ||
      error.code === 'UNKNOWN_ITEM'
    ) {
      return { message: error.message, exitCode: EXIT.INPUT };
    }
    return { message: error.message, exitCode: EXIT.FAILED };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: `unexpected error: ${message}`, exitCode: EXIT.FAILED };
}

function formatCounts(counts: Record<Status, number>): string {
  return (
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([status, n]) => `${status} ${n}`)
      .join(', ') || 'none'
  );
}

function version(): string {
  const require = createRequire(import.meta.url);
  return (require('../package.json') as { version: string }).version;
}

function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}
