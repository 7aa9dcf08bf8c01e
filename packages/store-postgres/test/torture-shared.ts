// The torture tests' shared parts (this package's, with worker processes on its API, and
// apps/pipeline's, with `savepoint work` processes): the random backlog, the workers' start/end
// log and the checks made of it.
import { expect } from 'vitest';
import type { PostgresStore } from '../src/index.ts';

export interface Run {
  readonly pid: number;
  readonly at: number;
}

export function parseLog(text: string) {
  const starts = new Map<string, Run[]>();
  const ends = new Map<string, Run[]>();
  const kills = new Map<number, number>();
  text.split('\n').forEach((line, at) => {
    const [what, a, b] = line.split(' ');
    if (what === 'kill') kills.set(Number(a), at);
    else if (what === 'start' || what === 'end') {
      const map = what === 'start' ? starts : ends;
      const list = map.get(a!) ?? [];
      list.push({ pid: Number(b), at });
      map.set(a!, list);
    }
  });
  return { starts, ends, kills };
}

/** Runs that started before every dependency (a container: each of its subtasks) had ended. */
export function dependencyViolations(
  runs: ReturnType<typeof parseLog>,
  dependencies: Map<string, string[]>,
): string[] {
  const firstEnd = new Map<string, number>();
  for (const [item, ends] of runs.ends) firstEnd.set(item, Math.min(...ends.map((end) => end.at)));
  const violations: string[] = [];
  for (const [item, starts] of runs.starts) {
    for (const start of starts) {
      for (const dep of dependencies.get(item) ?? []) {
        const ended = firstEnd.get(dep);
        if (ended === undefined || ended > start.at)
          violations.push(`${item} started before ${dep} ended`);
      }
    }
  }
  return violations;
}

/** Exactly one recorded Complete per subtask, and every subtask and the backlog Complete. */
export async function expectRecordedOnce(
  store: PostgresStore,
  id: string,
  subtasks: number,
): Promise<void> {
  const completes = new Map<string, number>();
  for (const event of await store.events(id)) {
    if (event.kind === 'record' && event.to === 'Complete') {
      completes.set(event.itemId, (completes.get(event.itemId) ?? 0) + 1);
    }
  }
  expect(completes.size).toBe(subtasks);
  expect([...completes.entries()].filter(([, count]) => count !== 1)).toEqual([]);
  const exported = JSON.parse(await store.exportTasks(id));
  expect(exported.backlog[0].status).toBe('Complete');
  const statuses = new Set<string>();
  for (const task of exported.backlog[0].milestones[0].tasks) {
    for (const subtask of task.subtasks) statuses.add(subtask.status);
  }
  expect([...statuses]).toEqual(['Complete']);
}

/**
 * `tasks` tasks of `perTask` subtasks under one phase and milestone. Dependencies point
 * backwards only: on the previous subtask of the task, on a whole earlier task, or on one
 * subtask of an earlier task.
 *
 * @returns the text and, per subtask, the subtasks it waits for (a task expanded to its subtasks)
 */
export function tortureBacklog(
  tasks: number,
  perTask: number,
): { text: string; dependencies: Map<string, string[]> } {
  const random = mulberry32(7);
  const sub = (t: number, s: number) => `P1.M1.T${t}.S${s}`;
  const dependencies = new Map<string, string[]>();
  const box = (type: string, id: string) => ({
    type,
    id,
    title: `${type} ${id}`,
    status: 'Planned',
    description: id,
  });
  const taskList = [];
  for (let t = 1; t <= tasks; t++) {
    const subtaskList = [];
    for (let s = 1; s <= perTask; s++) {
      const deps: string[] = [];
      const waits: string[] = [];
      if (s > 1 && random() < 0.6) {
        deps.push(sub(t, s - 1));
        waits.push(sub(t, s - 1));
      }
      if (t > 1 && random() < 0.08) {
        const earlier = 1 + Math.floor(random() * (t - 1));
        deps.push(`P1.M1.T${earlier}`);
        for (let k = 1; k <= perTask; k++) waits.push(sub(earlier, k));
      }
      if (t > 1 && random() < 0.15) {
        const dep = sub(1 + Math.floor(random() * (t - 1)), 1 + Math.floor(random() * perTask));
        if (!waits.includes(dep)) {
          deps.push(dep);
          waits.push(dep);
        }
      }
      dependencies.set(sub(t, s), waits);
      subtaskList.push({
        ...box('Subtask', sub(t, s)),
        story_points: 1,
        dependencies: deps,
        context_scope: 'torture',
      });
    }
    taskList.push({ ...box('Task', `P1.M1.T${t}`), subtasks: subtaskList });
  }
  const backlog = {
    backlog: [
      { ...box('Phase', 'P1'), milestones: [{ ...box('Milestone', 'P1.M1'), tasks: taskList }] },
    ],
  };
  return { text: `${JSON.stringify(backlog, null, 2)}\n`, dependencies };
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
