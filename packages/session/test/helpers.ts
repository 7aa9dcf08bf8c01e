import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backlog, Status } from '@savepoint/task-schema';
import { afterEach, beforeEach } from 'vitest';

/** The package folder. */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `<repo root>/../shared/fixtures/real-backlogs`. */
export const REAL_BACKLOGS = resolve(PACKAGE_DIR, '../../../shared/fixtures/real-backlogs');

/** Shape of a generated backlog: how many children each level has. */
export interface BacklogShape {
  phases: number;
  milestones: number;
  tasks: number;
  subtasks: number;
  status?: Status;
}

/**
 * A valid backlog in the real files' format. Each subtask after the first of a task depends on the
 * previous one, so the graph has edges without cycles.
 */
export function makeBacklog(shape: BacklogShape, title = 'item'): Backlog {
  const status = shape.status ?? 'Planned';
  const backlog = [];
  for (let p = 1; p <= shape.phases; p++) {
    const phaseId = `P${p}`;
    const milestones = [];
    for (let m = 1; m <= shape.milestones; m++) {
      const milestoneId = `${phaseId}.M${m}`;
      const tasks = [];
      for (let t = 1; t <= shape.tasks; t++) {
        const taskId = `${milestoneId}.T${t}`;
        const subtasks = [];
        for (let s = 1; s <= shape.subtasks; s++) {
          const id = `${taskId}.S${s}`;
          subtasks.push({
            type: 'Subtask' as const,
            id,
            title: `${title} ${id}`,
            status,
            story_points: s % 2 === 0 ? 0.5 : 1,
            dependencies: s > 1 ? [`${taskId}.S${s - 1}`] : [],
            context_scope: `Work on ${id}.`,
          });
        }
        tasks.push({
          type: 'Task' as const,
          id: taskId,
          title: `${title} ${taskId}`,
          status,
          description: `Task ${taskId}`,
          subtasks,
        });
      }
      milestones.push({
        type: 'Milestone' as const,
        id: milestoneId,
        title: `${title} ${milestoneId}`,
        status,
        description: `Milestone ${milestoneId}`,
        tasks,
      });
    }
    backlog.push({
      type: 'Phase' as const,
      id: phaseId,
      title: `${title} ${phaseId}`,
      status,
      description: `Phase ${phaseId}`,
      milestones,
    });
  }
  return { backlog };
}

/** A fresh temp folder, and a function removing it. */
export async function makeTempDir(prefix = 'savepoint-session-'): Promise<{
  dir: string;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolveFn!: (value: T) => void;
  let rejectFn!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolveFn = res;
    rejectFn = rej;
  });
  return { promise, resolve: resolveFn, reject: rejectFn };
}

/** A small seeded PRNG (mulberry32): the crash tests' writer and checker draw the same numbers. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the crash tests' writer does between two flushes. */
export type WriterStep =
  | { readonly kind: 'status'; readonly id: string; readonly status: Status }
  | { readonly kind: 'current'; readonly id: string | null };

const STEP_STATUSES: readonly Status[] = [
  'Planned',
  'Researching',
  'Implementing',
  'Complete',
  'Failed',
  'Retrying',
  'Obsolete',
];

/** The steps of one flush: one to four status changes, sometimes a new current item. */
export function writerSteps(random: () => number, subtaskIds: readonly string[]): WriterStep[] {
  const steps: WriterStep[] = [];
  const count = 1 + Math.floor(random() * 4);
  for (let k = 0; k < count; k++) {
    const id = subtaskIds[Math.floor(random() * subtaskIds.length)]!;
    const status = STEP_STATUSES[Math.floor(random() * STEP_STATUSES.length)]!;
    steps.push({ kind: 'status', id, status });
  }
  if (random() < 0.3) {
    const id = random() < 0.2 ? null : subtaskIds[Math.floor(random() * subtaskIds.length)]!;
    steps.push({ kind: 'current', id });
  }
  return steps;
}

/**
 * Gives each test of the file a fresh temporary folder (passed to `onCreate` before the test) and
 * removes it after the test.
 */
export function useTempDir(onCreate: (dir: string) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    const temp = await makeTempDir();
    cleanup = temp.cleanup;
    onCreate(temp.dir);
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
}
