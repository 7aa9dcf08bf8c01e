import type { Backlog } from '@savepoint/task-schema';

/**
 * Phase P1 > milestone P1.M1 > one task per argument (P1.M1.T1, P1.M1.T2, ...). `tasks[t][i]`
 * lists the indexes of the subtasks of the same task that subtask `i` depends on.
 */
export function backlogOf(...tasks: number[][][]): Backlog {
  const box = (type: string, id: string) => ({
    type,
    id,
    title: `${type} title`,
    status: 'Planned',
    description: `${type} description`,
  });
  return {
    backlog: [
      {
        ...box('Phase', 'P1'),
        milestones: [
          {
            ...box('Milestone', 'P1.M1'),
            tasks: tasks.map((deps, t) => {
              const id = (i: number) => `P1.M1.T${t + 1}.S${i + 1}`;
              return {
                ...box('Task', `P1.M1.T${t + 1}`),
                subtasks: deps.map((list, i) => ({
                  type: 'Subtask',
                  id: id(i),
                  title: `subtask ${i + 1}`,
                  status: 'Planned',
                  story_points: 1,
                  dependencies: list.map(id),
                  context_scope: `scope ${i + 1}`,
                })),
              };
            }),
          },
        ],
      },
    ],
  } as unknown as Backlog;
}
