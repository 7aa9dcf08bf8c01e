import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { describe, expect, it } from 'vitest';
import { itemOverview } from './item-overview.ts';

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
