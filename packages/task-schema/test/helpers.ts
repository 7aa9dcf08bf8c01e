import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backlog, Milestone, Phase, Status, Subtask, Task } from '../src/index.ts';

/** The monorepo root: the nearest folder above this file holding pnpm-workspace.yaml. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('no pnpm-workspace.yaml above the test folder');
    dir = up;
  }
  return dir;
}

/** The shared folder of real backlogs, beside the repository. */
export const REAL_BACKLOGS = path.resolve(repoRoot(), '../shared/fixtures/real-backlogs');

/** A four-section context_scope, as the contract asks. */
export const GOOD_SCOPE =
  'CONTRACT DEFINITION:\n1. RESEARCH NOTE: notes\n2. INPUT: input\n3. LOGIC:\n   - step\n4. OUTPUT: output';

export function subtask(
  id: string,
  dependencies: string[] = [],
  status: Status = 'Planned',
): Subtask {
  return {
    type: 'Subtask',
    id,
    title: `Subtask ${id}`,
    status,
    story_points: 1,
    dependencies,
    context_scope: GOOD_SCOPE,
  };
}

export function task(id: string, subtasks: Subtask[], status: Status = 'Planned'): Task {
  return { type: 'Task', id, title: `Task ${id}`, status, description: `About ${id}`, subtasks };
}

export function milestone(id: string, tasks: Task[], status: Status = 'Planned'): Milestone {
  return {
    type: 'Milestone',
    id,
    title: `Milestone ${id}`,
    status,
    description: `About ${id}`,
    tasks,
  };
}

export function phase(id: string, milestones: Milestone[], status: Status = 'Planned'): Phase {
  return {
    type: 'Phase',
    id,
    title: `Phase ${id}`,
    status,
    description: `About ${id}`,
    milestones,
  };
}

/** Phase P1 > milestone P1.M1 > task P1.M1.T1 holding `subtasks`, the three containers at `status`. */
export function phaseOfOneTask(subtasks: Subtask[], status: Status = 'Planned'): Phase {
  return phase('P1', [milestone('P1.M1', [task('P1.M1.T1', subtasks, status)], status)], status);
}

export function backlogOf(...phases: Phase[]): Backlog {
  return { backlog: phases };
}

/**
 * A small sound backlog: P1 with milestones M1 (T1: S1, S2 -> S1; T2: S1 -> T1) and M2
 * (T1: S1 -> P1.M1).
 */
export function sampleBacklog(): Backlog {
  return backlogOf(
    phase('P1', [
      milestone('P1.M1', [
        task('P1.M1.T1', [subtask('P1.M1.T1.S1'), subtask('P1.M1.T1.S2', ['P1.M1.T1.S1'])]),
        task('P1.M1.T2', [subtask('P1.M1.T2.S1', ['P1.M1.T1'])]),
      ]),
      milestone('P1.M2', [task('P1.M2.T1', [subtask('P1.M2.T1.S1', ['P1.M1'])])]),
    ]),
  );
}

/** Every key of every object, depth-first, with its path: equal lists mean equal key order. */
export function keyOrder(value: unknown, at = '$', out: string[] = []): string[] {
  if (Array.isArray(value)) {
    value.forEach((item, k) => {
      keyOrder(item, `${at}[${k}]`, out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      out.push(`${at}.${key}`);
      keyOrder(child, `${at}.${key}`, out);
    }
  }
  return out;
}
