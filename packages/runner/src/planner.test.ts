import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BacklogError } from '@savepoint/task-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerError } from './errors.ts';
import { runPlanner } from './planner.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'runner-planner-'));
  dirs.push(dir);
  const prdPath = join(dir, 'PRD.md');
  writeFileSync(prdPath, '# PRD\n');
  return { dir, prdPath };
}

/** A planner script that prints a one-subtask backlog titled with the PRD path it was given. */
const PLANNER = `
const box = (type, id, more) => ({ type, id, title: process.env.SAVEPOINT_PRD, status: 'Planned', description: 'd', ...more });
const subtask = { type: 'Subtask', id: 'P1.M1.T1.S1', title: 'one', status: 'Planned', story_points: 1, dependencies: [], context_scope: 'scope' };
const task = box('Task', 'P1.M1.T1', { subtasks: [subtask] });
console.log(JSON.stringify({ backlog: [box('Phase', 'P1', { milestones: [box('Milestone', 'P1.M1', { tasks: [task] })] })] }));
console.error('planned');
`;

async function failure(work: Promise<unknown>): Promise<Error> {
  const error = await work.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('runPlanner', () => {
  it("parses the command's stdout as the backlog; the PRD path is in SAVEPOINT_PRD", async () => {
    const { dir, prdPath } = workspace();
    const script = join(dir, 'plan.cjs');
    writeFileSync(script, PLANNER);
    const backlog = await runPlanner(`node "${script}"`, { prdPath });
    expect(backlog.backlog[0]!.title).toBe(prdPath);
    expect(backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!.id).toBe('P1.M1.T1.S1');
  });

  it('fails with the exit code and the end of stderr', async () => {
    const { prdPath } = workspace();
    const error = await failure(
      runPlanner('echo out; echo "no model key" >&2; exit 3', { prdPath }),
    );
    expect(error).toBeInstanceOf(RunnerError);
    expect(error).toMatchObject({ code: 'PLANNER_FAILED', message: 'exited with 3: no model key' });
    const killed = await failure(runPlanner('kill -9 $$', { prdPath }));
    expect(killed).toMatchObject({ code: 'PLANNER_FAILED', message: 'exited with signal SIGKILL' });
  });

  it('names its output in the BacklogError of output that is not a backlog', async () => {
    const { prdPath } = workspace();
    const error = await failure(runPlanner('echo "{}"', { prdPath, source: 'the planner' }));
    expect(error).toBeInstanceOf(BacklogError);
    expect((error as BacklogError).source).toBe('the planner');
    const unnamed = await failure(runPlanner('echo nothing', { prdPath }));
    expect((unnamed as BacklogError).source).toBe("output of 'echo nothing'");
  });

  it('rejects with ABORTED when its signal stops it, and with SPAWN when it cannot start', async () => {
    const { dir, prdPath } = workspace();
    const started = join(dir, 'started');
    const controller = new AbortController();
    const planning = runPlanner(`touch "${started}"; sleep 30`, {
      prdPath,
      signal: controller.signal,
      graceMs: 500,
    });
    // Wait for the command to be running before stopping it.
    while (!existsSync(started)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    expect(await failure(planning)).toMatchObject({ code: 'ABORTED' });
    const error = await failure(runPlanner('true', { prdPath, env: { BAD: 'a\0b' } }));
    expect(error).toBeInstanceOf(RunnerError);
    expect(error).toMatchObject({ code: 'SPAWN' });
    expect(error.message).toMatch(/^could not start: /);
  });
});
