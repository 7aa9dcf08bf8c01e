import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLines, readTasks, runCli, sessionDirs, tempDir } from './helpers.ts';

// Delta sessions carry Complete work over by content (ancestors' titles, title, context_scope),
// never by position or id. Each test runs the built CLI twice and reads, from a log the worker
// appends to, exactly which subtasks ran in the second (delta) run.

let cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});

function workspace() {
  const temp = tempDir();
  cleanups.push(temp.cleanup);
  return {
    dir: temp.dir,
    prd: join(temp.dir, 'prd.md'),
    log: join(temp.dir, 'worker.log'),
    plan: join(temp.dir, 'plan'),
  };
}

type Json = Record<string, unknown>;

/** id -> "Heading > Heading > item" for every subtask of a session, from its tasks.json. */
function pathsById(sessionDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (list: Json[], trail: string[]) => {
    for (const item of list) {
      const here = [...trail, String(item.title)];
      if (item.type === 'Subtask') out.set(String(item.id), here.join(' > '));
      for (const key of ['milestones', 'tasks', 'subtasks']) {
        if (Array.isArray(item[key])) walk(item[key] as Json[], here);
      }
    }
  };
  walk(readTasks(sessionDir).backlog as Json[], []);
  return out;
}

/** Runs the PRD to completion, then `changed` as a delta; returns what the delta run worked on. */
async function deltaRun(first: string, changed: string) {
  const w = workspace();
  const worker = `printf '%s\\n' "$SAVEPOINT_ITEM_ID" >> "${w.log}"`;
  writeFileSync(w.prd, first);
  const one = await runCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
  expect(one.code, one.stderr).toBe(0);
  const before = readLines(w.log).length;
  writeFileSync(w.prd, changed);
  const two = await runCli(['run', w.prd, '--plan-dir', w.plan, '--exec', worker], w.dir);
  expect(two.code, two.stderr).toBe(0);
  const dirs = sessionDirs(w.plan);
  expect(dirs).toHaveLength(2);
  const paths = pathsById(dirs[1]!);
  const ids = readLines(w.log).slice(before);
  const ran = ids.map((id) => paths.get(id) ?? `unknown id ${id}`);
  return { ids, ran, all: [...paths.values()], stderr: two.stderr };
}

const USERS = [
  '# Service',
  '',
  '### Users API',
  '',
  '- Create the endpoint',
  '- Write its tests',
  '',
];
const BILLING = ['### Billing API', '', '- Create the endpoint', '- Write its tests', ''];

describe('delta sessions carry work over by content', () => {
  it('runs a new section inserted above a finished one with the same item texts, and only it', async () => {
    const first = USERS.join('\n');
    const changed = [...USERS.slice(0, 2), ...BILLING, ...USERS.slice(2)].join('\n');
    const { ran, all } = await deltaRun(first, changed);
    expect(ran).toHaveLength(2);
    expect(ran.every((path) => path.includes('Billing API'))).toBe(true);
    expect(ran.map((path) => path.split(' > ').pop())).toEqual([
      'Create the endpoint',
      'Write its tests',
    ]);
    // The Users API subtasks exist in the delta session and did not run again.
    expect(all.filter((path) => path.includes('Users API'))).toHaveLength(2);
  });

  it('runs nothing again when two finished sections swap places', async () => {
    const a = ['## Alpha', '', '### Build', '', '- a one', '- a two', ''];
    const b = ['## Beta', '', '### Ship', '', '- b one', ''];
    const { ran, all, stderr } = await deltaRun([...a, ...b].join('\n'), [...b, ...a].join('\n'));
    expect(ran).toEqual([]);
    expect(all).toHaveLength(3);
    expect(stderr).toContain('Carried over 3 Complete subtask(s)');
  });

  it('runs an edited item again, and only it', async () => {
    const first = ['## Alpha', '', '### Build', '', '- one', '- two', '- three', ''];
    const changed = first.map((line) => (line === '- two' ? '- two, with retries' : line));
    const { ran } = await deltaRun(first.join('\n'), changed.join('\n'));
    expect(ran.map((path) => path.split(' > ').pop())).toEqual(['two, with retries']);
  });

  it('matches identical items one to one: a third copy runs, the first two do not', async () => {
    const first = ['## Alpha', '', '### Build', '', '- same step', '- same step', ''];
    const changed = [...first.slice(0, -1), '- same step', ''];
    const { ids, ran } = await deltaRun(first.join('\n'), changed.join('\n'));
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatch(/> same step$/);
    expect(ids[0]).toMatch(/\.S3$/);
  });
});
