import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionManager } from '@savepoint/session';
import type { Backlog } from '@savepoint/task-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { runQaStep } from './qa-step.ts';

let dirs: string[] = [];
let managers: SessionManager[] = [];
afterEach(async () => {
  for (const manager of managers) await manager.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
  managers = [];
});

async function session(): Promise<SessionManager> {
  const dir = mkdtempSync(join(tmpdir(), 'runner-qa-'));
  dirs.push(dir);
  const box = (type: string, id: string) => ({
    type,
    id,
    title: type,
    status: 'Complete',
    description: type,
  });
  const subtask = {
    ...box('Subtask', 'P1.M1.T1.S1'),
    story_points: 1,
    dependencies: [],
    context_scope: 'scope',
  };
  const task = { ...box('Task', 'P1.M1.T1'), subtasks: [subtask] };
  const backlog = {
    backlog: [
      { ...box('Phase', 'P1'), milestones: [{ ...box('Milestone', 'P1.M1'), tasks: [task] }] },
    ],
  } as unknown as Backlog;
  const manager = new SessionManager({ prdText: '# prd\n', planDir: join(dir, 'plan') });
  await manager.initialize({ backlog });
  managers.push(manager);
  return manager;
}

describe('runQaStep', () => {
  it('passes on exit 0 with the session folder in SAVEPOINT_SESSION_DIR, writing nothing', async () => {
    const manager = await session();
    const dir = manager.currentSession!.metadata.path;
    const result = await runQaStep(manager, 'test "$SAVEPOINT_SESSION_DIR" = "$EXPECTED"', {
      env: { ...process.env, EXPECTED: dir },
    });
    expect(result).toEqual({ status: 'passed', exitCode: 0, signal: null, testResults: null });
    expect(existsSync(join(dir, 'TEST_RESULTS.md'))).toBe(false);
  });

  it('fails on another exit code and writes TEST_RESULTS.md with the command and its output', async () => {
    const manager = await session();
    const file = join(manager.currentSession!.metadata.path, 'TEST_RESULTS.md');
    const result = await runQaStep(manager, 'echo "2 tests failed"; exit 4');
    expect(result).toEqual({ status: 'failed', exitCode: 4, signal: null, testResults: file });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('QA command: `echo "2 tests failed"; exit 4`');
    expect(text).toContain('Exit code: 4');
    expect(text).toContain('2 tests failed');
  });

  it('writes nothing when its signal stops it', async () => {
    const manager = await session();
    const dir = manager.currentSession!.metadata.path;
    const started = join(dir, 'qa-started');
    const controller = new AbortController();
    const qa = runQaStep(manager, `touch "${started}"; sleep 30`, {
      signal: controller.signal,
      graceMs: 500,
    });
    // Stop it once it is running.
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    expect((await qa).status).toBe('aborted');
    expect(existsSync(join(dir, 'TEST_RESULTS.md'))).toBe(false);
  });
});
