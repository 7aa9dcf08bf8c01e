import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { formatItemOverview, itemOverview } from './item-overview.ts';

/** P1.M1.T1 with S1 (Failed), S2 -> S1, S3 (Complete); P1.M1.T2 with S1 -> S3 and an unknown id. */
function backlog(): Backlog {
  const box = (type: string, id: string, status = 'Planned') => ({
    type,
    id,
    title: `${type} ${id}`,
    status,
    description: `about ${id}`,
  });
  const sub = (id: string, status: string, dependencies: string[]) => ({
    ...box('Subtask', id, status),
    story_points: 1,
    dependencies,
    context_scope: 'scope',
  });
  return {
    backlog: [
      {
        ...box('Phase', 'P1', 'Implementing'),
        milestones: [
          {
            ...box('Milestone', 'P1.M1', 'Implementing'),
            tasks: [
              {
                ...box('Task', 'P1.M1.T1', 'Implementing'),
                subtasks: [
                  sub('P1.M1.T1.S1', 'Failed', []),
                  sub('P1.M1.T1.S2', 'Planned', ['P1.M1.T1.S1']),
                  sub('P1.M1.T1.S3', 'Complete', []),
                ],
              },
              {
                ...box('Task', 'P1.M1.T2'),
                subtasks: [sub('P1.M1.T2.S1', 'Planned', ['P1.M1.T1.S3'])],
              },
            ],
          },
        ],
      },
    ],
  } as unknown as Backlog;
}

describe('itemOverview', () => {
  const index = createBacklogIndex(backlog());

  it('lists a blocked subtask with its ancestors, dependencies and what blocks it', () => {
    const overview = itemOverview(index, 'P1.M1.T1.S2')!;
    expect(overview.item).toBe(index.get('P1.M1.T1.S2'));
    expect(overview.ancestors.map((a) => a.id)).toEqual(['P1', 'P1.M1', 'P1.M1.T1']);
    expect(overview.ancestors[2]).toEqual({
      id: 'P1.M1.T1',
      type: 'Task',
      title: 'Task P1.M1.T1',
      status: 'Implementing',
    });
    expect(overview.dependencies).toEqual([
      { id: 'P1.M1.T1.S1', type: 'Subtask', title: 'Subtask P1.M1.T1.S1', status: 'Failed' },
    ]);
    expect(overview.children).toEqual([]);
    expect(overview).toMatchObject({ ready: false, done: false, blockedBy: ['P1.M1.T1.S1'] });
  });

  it('says a subtask whose dependencies are done is ready', () => {
    expect(itemOverview(index, 'P1.M1.T2.S1')).toMatchObject({
      ready: true,
      done: false,
      blockedBy: [],
    });
    expect(itemOverview(index, 'P1.M1.T1.S3')).toMatchObject({ ready: false, done: true });
  });

  it('lists the children of a container and never blocks a container', () => {
    const overview = itemOverview(index, 'P1.M1')!;
    expect(overview.ancestors.map((a) => a.id)).toEqual(['P1']);
    expect(overview.children.map((c) => [c.id, c.status])).toEqual([
      ['P1.M1.T1', 'Implementing'],
      ['P1.M1.T2', 'Planned'],
    ]);
    expect(overview).toMatchObject({ dependencies: [], ready: true, blockedBy: [] });
  });

  it('shows a dependency on an unknown id as unknown, and nothing for an unknown item', () => {
    const broken = backlog();
    const subtask = broken.backlog[0]!.milestones[0]!.tasks[1]!.subtasks[0]!;
    subtask.dependencies = ['P9.M9.T9.S9'];
    const overview = itemOverview(createBacklogIndex(broken), 'P1.M1.T2.S1')!;
    expect(overview.dependencies).toEqual([
      { id: 'P9.M9.T9.S9', type: null, title: null, status: 'unknown' },
    ]);
    expect(itemOverview(index, 'P7')).toBeUndefined();
  });
});

describe('formatItemOverview', () => {
  const index = createBacklogIndex(backlog());
  const lines = (id: string, from = index) => formatItemOverview(itemOverview(from, id)!);

  it('shows a blocked subtask with its path, dependencies and context_scope', () => {
    expect(lines('P1.M1.T1.S2')).toEqual([
      'Subtask P1.M1.T1.S2: Subtask P1.M1.T1.S2',
      '  status: Planned (blocked by the failure of P1.M1.T1.S1)',
      '  in: P1 Phase P1 > P1.M1 Milestone P1.M1 > P1.M1.T1 Task P1.M1.T1',
      '  description: about P1.M1.T1.S2',
      '  story points: 1',
      '  depends on:',
      '    P1.M1.T1.S1 Subtask P1.M1.T1.S1 (Failed)',
      '  context_scope:',
      '    scope',
    ]);
  });

  it('says whether a subtask is ready, done or waiting, and indents each context line', () => {
    expect(lines('P1.M1.T2.S1')[1]).toBe('  status: Planned (ready to run)');
    expect(lines('P1.M1.T1.S3').slice(1, 2)).toEqual(['  status: Complete (done)']);
    expect(lines('P1.M1.T1.S3')).toContain('  depends on: nothing');
    const broken = backlog();
    const subtask = broken.backlog[0]!.milestones[0]!.tasks[1]!.subtasks[0]!;
    subtask.dependencies = ['P9.M9.T9.S9'];
    subtask.context_scope = 'first\nsecond';
    delete (subtask as { description?: string }).description;
    expect(lines('P1.M1.T2.S1', createBacklogIndex(broken)).slice(1)).toEqual([
      '  status: Planned (waiting on its dependencies)',
      '  in: P1 Phase P1 > P1.M1 Milestone P1.M1 > P1.M1.T2 Task P1.M1.T2',
      '  story points: 1',
      '  depends on:',
      '    P9.M9.T9.S9 (no such item) (unknown)',
      '  context_scope:',
      '    first',
      '    second',
    ]);
  });

  it('lists the children of a container, with one child or many', () => {
    expect(lines('P1')).toEqual([
      'Phase P1: Phase P1',
      '  status: Implementing (has a subtask ready to run)',
      '  description: about P1',
      '  1 child:',
      '    P1.M1 Milestone P1.M1 (Implementing)',
    ]);
    expect(lines('P1.M1')).toEqual([
      'Milestone P1.M1: Milestone P1.M1',
      '  status: Implementing (has a subtask ready to run)',
      '  in: P1 Phase P1',
      '  description: about P1.M1',
      '  2 children:',
      '    P1.M1.T1 Task P1.M1.T1 (Implementing)',
      '    P1.M1.T2 Task P1.M1.T2 (Planned)',
    ]);
  });

  it('calls a container done once every subtask under it is', () => {
    const finished = backlog();
    const task = finished.backlog[0]!.milestones[0]!.tasks[1]!;
    task.status = 'Complete';
    task.subtasks[0]!.status = 'Complete';
    expect(lines('P1.M1.T2', createBacklogIndex(finished)).slice(0, 2)).toEqual([
      'Task P1.M1.T2: Task P1.M1.T2',
      '  status: Complete (done)',
    ]);
  });
});
