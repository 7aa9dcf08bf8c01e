import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionManager } from '@savepoint/session';
import type { Backlog, Subtask } from '@savepoint/task-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { commandWorker } from './command-worker.ts';
import { formatRunnerEvent } from './event-text.ts';
import { createRunner } from './runner.ts';
import type { RunnerEvent } from './types.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function backlog(count: number): Backlog {
  const box = (type: string, id: string) => ({
    type,
    id,
    title: type,
    status: 'Planned',
    description: type,
  });
  const subtasks = Array.from({ length: count }, (_, i) => ({
    type: 'Subtask',
    id: `P1.M1.T1.S${i + 1}`,
    title: `subtask ${i + 1}`,
    status: 'Planned',
    story_points: 1,
    dependencies: [],
    context_scope: 'scope',
  }));
  const task = { ...box('Task', 'P1.M1.T1'), subtasks };
  const milestone = { ...box('Milestone', 'P1.M1'), tasks: [task] };
  return { backlog: [{ ...box('Phase', 'P1'), milestones: [milestone] }] } as unknown as Backlog;
}

/** The events of a real run of `command` over `count` subtasks, with `retries`. */
async function eventsOf(command: string, count: number, retries: number) {
  const dir = mkdtempSync(join(tmpdir(), 'runner-text-'));
  dirs.push(dir);
  const manager = new SessionManager({ prdText: '# prd\n', planDir: join(dir, 'plan') });
  await manager.initialize({ backlog: backlog(count) });
  const events: RunnerEvent[] = [];
  const runner = createRunner({
    session: manager,
    worker: commandWorker(command),
    retries,
    backoff: () => 1,
    onEvent: (event) => events.push(event),
  });
  await runner.run();
  await manager.close();
  return events;
}

describe('formatRunnerEvent', () => {
  it('tells retries and a failure with the last five lines of its output and its log', async () => {
    const events = await eventsOf('for i in 1 2 3 4 5 6 7; do echo "line $i"; done; exit 3', 1, 1);
    const retry = events.find((event) => event.type === 'retry')!;
    expect(formatRunnerEvent(retry, { retries: 1 })).toBe(
      'P1.M1.T1.S1 failed (exit code 3), retry 1 of 1',
    );
    expect(formatRunnerEvent(retry)).toBe('P1.M1.T1.S1 failed (exit code 3), retry 1');
    const failed = events.find((event) => event.type === 'failed')!;
    expect(failed.type === 'failed' && failed.failure.logPath).toBeTruthy();
    const logPath = failed.type === 'failed' ? failed.failure.logPath : '';
    expect(formatRunnerEvent(failed)!.split('\n')).toEqual([
      'P1.M1.T1.S1 failed after 2 attempt(s) (exit code 3)',
      '  | line 3',
      '  | line 4',
      '  | line 5',
      '  | line 6',
      '  | line 7',
      `  log: ${logPath}`,
    ]);
    expect(formatRunnerEvent(failed, { tailLines: 1 })!.split('\n')).toHaveLength(3);
  });

  it('prefixes output lines with the item id and has no text for started and finished', async () => {
    const events = await eventsOf('echo "on $SAVEPOINT_ITEM_ID"', 2, 0);
    const outputs = events.filter((event) => event.type === 'output');
    expect(outputs.map((event) => formatRunnerEvent(event)).sort()).toEqual([
      '[P1.M1.T1.S1] on P1.M1.T1.S1',
      '[P1.M1.T1.S2] on P1.M1.T1.S2',
    ]);
    const others = events.filter((event) => event.type !== 'output');
    expect(others.map((event) => event.type).sort()).toEqual([
      'finished',
      'finished',
      'started',
      'started',
    ]);
    for (const event of others) expect(formatRunnerEvent(event)).toBeUndefined();
  });

  it('names the worker that lost a lease', () => {
    const item = backlog(1).backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0] as Subtask;
    const lost: RunnerEvent = { type: 'lost', item, attempt: 1 };
    const tail =
      '(it stalled past its lease; another worker may run it): stopped, nothing recorded';
    expect(formatRunnerEvent(lost, { workerId: 'host-a/42/1' })).toBe(
      `P1.M1.T1.S1: lease lost by host-a/42/1 ${tail}`,
    );
    expect(formatRunnerEvent(lost)).toBe(`P1.M1.T1.S1: lease lost by this worker ${tail}`);
  });
});
