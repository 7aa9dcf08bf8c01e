import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { createDatabase, type TestDatabase } from './cluster.mjs';

/** The throwaway cluster of this test run, or `null` when none could start. */
export const server = inject('postgres');

/** `describe`, skipped (with the global setup's loud warning) when no server could start. */
export const describePg = describe.skipIf(server === null) as typeof describe;

/** The connection string of a database of the test cluster. */
export function clusterUrl(database = 'postgres'): string {
  if (server === null) throw new Error('no PostgreSQL server in this test run');
  return `postgres://${server.user}@${server.host}:${server.port}/${database}`;
}

/**
 * A fresh database for the calling test file, created before its tests and dropped after them.
 * Read `.url` inside tests or hooks, not at module level.
 */
export function useDatabase(): { readonly url: string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    if (server === null) return;
    database = await createDatabase({ url: clusterUrl });
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    get url() {
      if (database === undefined) throw new Error('useDatabase: read .url inside a test or hook');
      return database.url;
    },
  };
}

let schemas = 0;

/** A schema name no other test of this file uses, for tests that need their own tables. */
export function freshSchema(prefix = 's'): string {
  schemas++;
  return `${prefix}_${schemas}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A subtask of {@link makeBacklog}: its id suffix and dependencies. */
export interface SubtaskSpec {
  readonly status?: string;
  readonly dependencies?: readonly string[];
}

/**
 * A backlog text with one phase `P1`, one milestone `P1.M1` and the given tasks, each a list of
 * subtasks (`P1.M1.T<t>.S<s>`, numbered from 1).
 */
export function makeBacklog(tasks: readonly (readonly SubtaskSpec[])[]): string {
  const backlog = {
    backlog: [
      {
        type: 'Phase',
        id: 'P1',
        title: 'Phase 1',
        status: 'Planned',
        description: 'p',
        milestones: [
          {
            type: 'Milestone',
            id: 'P1.M1',
            title: 'Milestone 1',
            status: 'Planned',
            description: 'm',
            tasks: tasks.map((subtasks, t) => ({
              type: 'Task',
              id: `P1.M1.T${t + 1}`,
              title: `Task ${t + 1}`,
              status: 'Planned',
              description: 't',
              subtasks: subtasks.map((spec, s) => ({
                type: 'Subtask',
                id: `P1.M1.T${t + 1}.S${s + 1}`,
                title: `Subtask ${t + 1}.${s + 1}`,
                status: spec.status ?? 'Planned',
                story_points: 1,
                dependencies: [...(spec.dependencies ?? [])],
                context_scope: 'c',
              })),
            })),
          },
        ],
      },
    ],
    currentItemId: null,
  };
  return `${JSON.stringify(backlog, null, 2)}\n`;
}

let hashes = 0;

/** A 12-hex-digit PRD hash not used before in this test file. */
export function freshHash(): string {
  hashes++;
  return (hashes.toString(16) + Math.random().toString(16).slice(2)).padEnd(12, '0').slice(0, 12);
}

/**
 * Bundles a fixture script (TypeScript, importing workspace packages by source) into one ES
 * module that plain `node` runs; `pg` stays external and resolves from this package.
 *
 * @returns the bundle's path
 */
export async function buildFixture(name: string): Promise<string> {
  const { build } = await import('esbuild');
  const here = import.meta.dirname;
  const outfile = join(
    here,
    '..',
    'node_modules',
    '.fixtures',
    `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.mjs`,
  );
  await build({
    entryPoints: [join(here, 'fixtures', `${name}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@savepoint/source'],
    external: ['pg'],
    logLevel: 'error',
    // Bundled CommonJS dependencies call require(); give the module one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
  });
  return outfile;
}

/** A child process and its output, line by line. */
export interface Child {
  readonly process: ChildProcess;
  /** Resolves with the first line of stdout matching `pattern` (lines already seen count too). */
  line(pattern: RegExp): Promise<string>;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** Everything printed so far, for failure messages. */
  output(): string;
}

/** Starts `node <script> <json settings>` and follows its output. */
export function startChild(script: string, settings: unknown): Child {
  const child = spawn(process.execPath, [script, JSON.stringify(settings)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const seen: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    seen.push(line);
    for (const waiter of [...waiting]) {
      if (waiter.pattern.test(line)) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return {
    process: child,
    exited,
    output: () => `stdout:\n${seen.join('\n')}\nstderr:\n${stderr}`,
    line(pattern) {
      const found = seen.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        exited.then((how) => {
          reject(new Error(`child exited (${how}) before printing ${pattern}; stderr:\n${stderr}`));
        });
      });
    },
  };
}
