import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(APP_DIR, '../..');
export const BIN = join(APP_DIR, 'bin', 'savepoint.js');

/**
 * The end-to-end tests run the built CLI, as a user would. Build it (and the packages it uses)
 * only when a build is missing or older than its sources, so a run after `pnpm build` costs nothing.
 */
export function ensureBuilt(): void {
  const dirs = [
    APP_DIR,
    ...[
      'task-schema',
      'decompose',
      'atomic-store',
      'session',
      'shutdown',
      'progress',
      'runner',
      'store-postgres',
    ].map((name) => join(REPO_ROOT, 'packages', name)),
  ];
  const stale = dirs.some((dir) => {
    const built = join(dir, 'dist', 'index.js');
    if (!existsSync(built)) return true;
    return newestSource(join(dir, 'src')) > statSync(built).mtimeMs;
  });
  if (stale) {
    execFileSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@savepoint/pipeline...'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.includes('.test.')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface CliProcess {
  child: ChildProcess;
  result: Promise<CliResult>;
  output(): { stdout: string; stderr: string };
}

/** Starts `savepoint ...args` in `cwd` without a terminal (CI-like output). */
export function startCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): CliProcess {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const result = new Promise<CliResult>((resolvePromise) => {
    child.once('close', (code, signal) =>
      resolvePromise({ code, signal, stdout, stderr, elapsedMs: Date.now() - started }),
    );
  });
  return { child, result, output: () => ({ stdout, stderr }) };
}

export function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return startCli(args, cwd, env).result;
}

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'savepoint-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function waitFor(
  check: () => boolean,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);
}

export function sessionDirs(planDir: string): string[] {
  if (!existsSync(planDir)) return [];
  return readdirSync(planDir)
    .filter((name) => /^\d{3}_[0-9a-f]{12}$/.test(name))
    .sort()
    .map((name) => join(planDir, name));
}

type Json = Record<string, unknown>;

export function readTasks(sessionDir: string): Json {
  return JSON.parse(readFileSync(join(sessionDir, 'tasks.json'), 'utf8')) as Json;
}

/** Every subtask of a parsed tasks.json, depth-first. */
export function subtasks(tasks: Json): Array<{ id: string; title: string; status: string }> {
  const out: Array<{ id: string; title: string; status: string }> = [];
  for (const phase of tasks.backlog as Json[]) {
    for (const milestone of phase.milestones as Json[]) {
      for (const task of milestone.tasks as Json[]) {
        for (const subtask of task.subtasks as Json[]) out.push(subtask as never);
      }
    }
  }
  return out;
}

/** Every item of a parsed tasks.json (all levels), depth-first. */
export function items(tasks: Json): Array<{ id: string; type: string; status: string }> {
  const out: Array<{ id: string; type: string; status: string }> = [];
  const walk = (list: Json[], key: string | undefined) => {
    for (const item of list) {
      out.push(item as never);
      const next = key === 'milestones' ? 'tasks' : key === 'tasks' ? 'subtasks' : undefined;
      if (key && Array.isArray(item[key])) walk(item[key] as Json[], next);
    }
  };
  walk(tasks.backlog as Json[], 'milestones');
  return out;
}

/** A PRD with `phases` x 1 milestone x 1 task x `perTask` subtasks, for predictable runs. */
export function makePrd(phases: number, perTask: number, extra = ''): string {
  const lines = ['# Test PRD', ''];
  for (let p = 1; p <= phases; p++) {
    lines.push(`## Phase ${p}`, '', `### Milestone ${p}`, '', `#### Task ${p}`, '');
    for (let s = 1; s <= perTask; s++) lines.push(`- step ${p}.${s}`);
    lines.push('');
  }
  return `${lines.join('\n')}${extra}`;
}

/**
 * A tasks.json with one phase, milestone and task holding `deps.length` subtasks: subtask `i`
 * (id `P1.M1.T1.S<i+1>`) depends on the subtasks whose indexes `deps[i]` lists.
 */
export function makeBacklog(deps: number[][], title = (i: number) => `subtask ${i + 1}`): string {
  const id = (i: number) => `P1.M1.T1.S${i + 1}`;
  const container = (type: string, itemId: string) => ({
    type,
    id: itemId,
    title: `${type} one`,
    status: 'Planned',
    description: `the only ${type.toLowerCase()}`,
  });
  const subtaskList = deps.map((list, i) => ({
    type: 'Subtask',
    id: id(i),
    title: title(i),
    status: 'Planned',
    story_points: 1,
    dependencies: list.map(id),
    context_scope: `scope of ${id(i)}`,
  }));
  const task = { ...container('Task', 'P1.M1.T1'), subtasks: subtaskList };
  const milestone = { ...container('Milestone', 'P1.M1'), tasks: [task] };
  const phase = { ...container('Phase', 'P1'), milestones: [milestone] };
  return `${JSON.stringify({ backlog: [phase] }, null, 2)}\n`;
}

/** A marker for the environment of a CLI run, found again in every process it started. */
export function newMarker(): { env: Record<string, string>; text: string } {
  const value = `m${process.pid}x${Math.random().toString(36).slice(2)}`;
  return { env: { SAVEPOINT_TEST_MARKER: value }, text: `SAVEPOINT_TEST_MARKER=${value}` };
}

/** Live (not zombie) processes whose environment holds the marker. */
export function processesWithMarker(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`).toString('latin1').split('\0');
      if (!env.includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/**
 * Fails unless every process carrying the marker is gone. Processes ended by SIGKILL just before
 * the CLI exited may take a moment to disappear, so this waits up to a second for that; a
 * process nobody ended is still there after it.
 */
export async function expectNoneLeft(marker: string): Promise<void> {
  const deadline = Date.now() + 1000;
  let left = processesWithMarker(marker);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    left = processesWithMarker(marker);
  }
  if (left.length > 0) {
    const names = left.map((pid) => {
      try {
        return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return String(pid);
      }
    });
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    throw new Error(`processes outlived the CLI:\n${names.join('\n')}`);
  }
}
