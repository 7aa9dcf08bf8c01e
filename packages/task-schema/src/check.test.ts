import { describe, expect, it } from 'vitest';
import {
  backlogOf,
  milestone,
  phase,
  phaseOfOneTask,
  sampleBacklog,
  subtask,
  task,
} from '../test/helpers.ts';
import { type Backlog, type BacklogIssue, checkBacklog, type Subtask } from './index.ts';

/** Issues as [code, severity, formatted path, itemId] for compact comparisons. */
function summary(issues: BacklogIssue[]) {
  return issues.map((issue) => [issue.code, issue.severity, issue.path.join('/'), issue.itemId]);
}

/** One phase, one milestone, one task holding the given subtasks. */
function oneTask(...subtasks: Subtask[]): Backlog {
  return backlogOf(phase('P1', [milestone('P1.M1', [task('P1.M1.T1', subtasks)])]));
}

const S = 'backlog/0/milestones/0/tasks/0/subtasks';

describe('checkBacklog', () => {
  it('finds nothing wrong with a sound backlog', () => {
    expect(checkBacklog(sampleBacklog())).toEqual([]);
  });

  it('reports every later use of a duplicate id, pointing at the first', () => {
    const issues = checkBacklog(
      oneTask(subtask('P1.M1.T1.S1'), subtask('P1.M1.T1.S2'), subtask('P1.M1.T1.S1')),
    );
    expect(summary(issues)).toEqual([['DUPLICATE_ID', 'error', `${S}/2/id`, 'P1.M1.T1.S1']]);
    expect(issues[0]!.message).toContain('backlog[0].milestones[0].tasks[0].subtasks[0]');
  });

  it('finds duplicates across levels and branches', () => {
    const backlog = backlogOf(
      phase('P1', [milestone('P1.M1', [task('P1.M1.T1', [subtask('P1.M1.T1.S1')])])]),
      phase('P1', [milestone('P1.M1', [task('P1.M1.T1', [subtask('P1.M1.T1.S1')])])]),
    );
    expect(summary(checkBacklog(backlog)).map((row) => row[2])).toEqual([
      'backlog/1/id',
      'backlog/1/milestones/0/id',
      'backlog/1/milestones/0/tasks/0/id',
      'backlog/1/milestones/0/tasks/0/subtasks/0/id',
    ]);
  });

  it('reports ids that do not have their level form', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.T1', [task('P1.T1.T1', [subtask('P1.T1.T1.S1')])]),
        milestone('P1.M2', [task('P1.M2.T1', [subtask('P1.M2.T1.X1')]), task('P1.M2.T0', [])]),
      ]),
      phase('X2', []),
    );
    const issues = checkBacklog(backlog);
    // Children of a malformed milestone are not blamed for failing to extend it.
    expect(summary(issues)).toEqual([
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/0/milestones/0/id', 'P1.T1'],
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/0/milestones/0/tasks/0/id', 'P1.T1.T1'],
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/0/milestones/0/tasks/0/subtasks/0/id', 'P1.T1.T1.S1'],
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/0/milestones/1/tasks/0/subtasks/0/id', 'P1.M2.T1.X1'],
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/0/milestones/1/tasks/1/id', 'P1.M2.T0'],
      ['ID_LEVEL_MISMATCH', 'error', 'backlog/1/id', 'X2'],
    ]);
    expect(issues[0]!.message).toBe(
      'Milestone id "P1.T1" does not have the Milestone form P<n>.M<n> (numbers from 1)',
    );
  });

  it('reports ids that do not extend their parent id', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P2.M1', [task('P2.M1.T1', [subtask('P2.M1.T1.S1')])]),
        milestone('P1.M2', [task('P1.M2.T1', [subtask('P1.M3.T1.S1')])]),
      ]),
    );
    const issues = checkBacklog(backlog);
    expect(summary(issues)).toEqual([
      ['ID_PARENT_MISMATCH', 'error', 'backlog/0/milestones/0/id', 'P2.M1'],
      [
        'ID_PARENT_MISMATCH',
        'error',
        'backlog/0/milestones/1/tasks/0/subtasks/0/id',
        'P1.M3.T1.S1',
      ],
    ]);
    expect(issues[1]!.message).toBe(
      'Subtask id "P1.M3.T1.S1" does not extend its parent\'s id "P1.M2.T1"; expected P1.M2.T1.S<n>',
    );
  });

  it('reports unknown dependencies and self-dependencies at the dependency entry', () => {
    const issues = checkBacklog(
      oneTask(
        subtask('P1.M1.T1.S1'),
        subtask('P1.M1.T1.S2', ['P1.M1.T1.S1', 'P1.M9', 'P1.M1.T1.S2']),
      ),
    );
    expect(summary(issues)).toEqual([
      ['UNKNOWN_DEPENDENCY', 'error', `${S}/1/dependencies/1`, 'P1.M1.T1.S2'],
      ['SELF_DEPENDENCY', 'error', `${S}/1/dependencies/2`, 'P1.M1.T1.S2'],
    ]);
    expect(issues[0]!.message).toBe(
      'P1.M1.T1.S2 depends on "P1.M9", which is not an item of this backlog',
    );
  });

  it('reports a dependency cycle with its path', () => {
    const issues = checkBacklog(
      oneTask(
        subtask('P1.M1.T1.S1', ['P1.M1.T1.S3']),
        subtask('P1.M1.T1.S2', ['P1.M1.T1.S1']),
        subtask('P1.M1.T1.S3', ['P1.M1.T1.S2']),
      ),
    );
    expect(summary(issues)).toEqual([
      ['DEPENDENCY_CYCLE', 'error', `${S}/0/dependencies/0`, 'P1.M1.T1.S1'],
    ]);
    expect(issues[0]!.cycle).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S3', 'P1.M1.T1.S2', 'P1.M1.T1.S1']);
    expect(issues[0]!.message).toBe(
      'dependency cycle: P1.M1.T1.S1 depends on P1.M1.T1.S3, which depends on P1.M1.T1.S2, which depends on P1.M1.T1.S1; none of these can become ready until one dependency is removed',
    );
  });

  it('reports each separate cycle, across tasks and milestones', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.M1', [
          task('P1.M1.T1', [subtask('P1.M1.T1.S1'), subtask('P1.M1.T1.S2', ['P1.M2.T1.S1'])]),
          task('P1.M1.T2', [subtask('P1.M1.T2.S1', ['P1.M1.T2.S2']), subtask('P1.M1.T2.S2')]),
        ]),
        milestone('P1.M2', [task('P1.M2.T1', [subtask('P1.M2.T1.S1', ['P1.M1.T1.S2'])])]),
      ]),
    );
    backlog.backlog[0]!.milestones[0]!.tasks[1]!.subtasks[1]!.dependencies.push('P1.M1.T2.S1');
    const issues = checkBacklog(backlog);
    expect(summary(issues)).toEqual([
      ['DEPENDENCY_CYCLE', 'error', `${S}/1/dependencies/0`, 'P1.M1.T1.S2'],
      [
        'DEPENDENCY_CYCLE',
        'error',
        'backlog/0/milestones/0/tasks/1/subtasks/0/dependencies/0',
        'P1.M1.T2.S1',
      ],
    ]);
    expect(issues.map((issue) => issue.cycle)).toEqual([
      ['P1.M1.T1.S2', 'P1.M2.T1.S1', 'P1.M1.T1.S2'],
      ['P1.M1.T2.S1', 'P1.M1.T2.S2', 'P1.M1.T2.S1'],
    ]);
  });

  it('finds loops through containers and dependencies on an own ancestor', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.M1', [
          task('P1.M1.T1', [subtask('P1.M1.T1.S1', ['P1.M1.T2'])]),
          task('P1.M1.T2', [subtask('P1.M1.T2.S1'), subtask('P1.M1.T2.S2', ['P1.M1.T1'])]),
        ]),
        milestone('P1.M2', [
          task('P1.M2.T1', [subtask('P1.M2.T1.S1'), subtask('P1.M2.T1.S2', ['P1.M2'])]),
        ]),
      ]),
    );
    const issues = checkBacklog(backlog);
    expect(summary(issues)).toEqual([
      ['DEPENDENCY_CYCLE', 'error', `${S}/0/dependencies/0`, 'P1.M1.T1.S1'],
      [
        'DEPENDENCY_CYCLE',
        'error',
        'backlog/0/milestones/1/tasks/0/subtasks/1/dependencies/0',
        'P1.M2.T1.S2',
      ],
    ]);
    expect(issues[0]!.cycle).toEqual([
      'P1.M1.T1.S1',
      'P1.M1.T2',
      'P1.M1.T2.S2',
      'P1.M1.T1',
      'P1.M1.T1.S1',
    ]);
    expect(issues[0]!.message).toContain(
      'P1.M1.T1.S1 depends on P1.M1.T2, which contains P1.M1.T2.S2, which depends on P1.M1.T1, which contains P1.M1.T1.S1',
    );
    expect(issues[1]!.cycle).toEqual(['P1.M2.T1.S2', 'P1.M2', 'P1.M2.T1.S2']);
  });

  it('says how many more subtasks are caught in intertwined loops', () => {
    const issues = checkBacklog(
      oneTask(
        subtask('P1.M1.T1.S1', ['P1.M1.T1.S2', 'P1.M1.T1.S3']),
        subtask('P1.M1.T1.S2', ['P1.M1.T1.S1']),
        subtask('P1.M1.T1.S3', ['P1.M1.T1.S1']),
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.cycle).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S1']);
    expect(issues[0]!.message).toContain('(1 more subtask is caught in loops with these)');
  });

  it('warns about in-flight subtasks but not about containers whose children are in progress', () => {
    const backlog = backlogOf(
      phaseOfOneTask(
        [
          subtask('P1.M1.T1.S1', [], 'Researching'),
          subtask('P1.M1.T1.S2', [], 'Implementing'),
          subtask('P1.M1.T1.S3', [], 'Retrying'),
          subtask('P1.M1.T1.S4', [], 'Failed'),
        ],
        'Implementing',
      ),
    );
    const issues = checkBacklog(backlog);
    expect(summary(issues)).toEqual([
      ['IN_FLIGHT_STATUS', 'warning', `${S}/0/status`, 'P1.M1.T1.S1'],
      ['IN_FLIGHT_STATUS', 'warning', `${S}/1/status`, 'P1.M1.T1.S2'],
      ['IN_FLIGHT_STATUS', 'warning', `${S}/2/status`, 'P1.M1.T1.S3'],
    ]);
    expect(issues[1]!.message).toContain('set it back to Planned');
  });

  it('warns about in-flight containers their children do not explain', () => {
    const backlog = backlogOf(
      phase(
        'P1',
        [
          milestone(
            'P1.M1',
            [task('P1.M1.T1', [subtask('P1.M1.T1.S1'), subtask('P1.M1.T1.S2')], 'Researching')],
            'Implementing',
          ),
          milestone(
            'P1.M2',
            [task('P1.M2.T1', [subtask('P1.M2.T1.S1', [], 'Complete'), subtask('P1.M2.T1.S2')])],
            'Retrying',
          ),
        ],
        'Implementing',
      ),
      phase('P2', [], 'Implementing'),
    );
    const issues = checkBacklog(backlog);
    // P1.M1 is Implementing because its task is in flight: only the task is reported.
    expect(summary(issues)).toEqual([
      ['IN_FLIGHT_STATUS', 'warning', 'backlog/0/milestones/0/tasks/0/status', 'P1.M1.T1'],
      ['IN_FLIGHT_STATUS', 'warning', 'backlog/0/milestones/1/status', 'P1.M2'],
      ['IN_FLIGHT_STATUS', 'warning', 'backlog/1/status', 'P2'],
    ]);
    expect(issues[0]!.message).toBe(
      'P1.M1.T1 is Researching, but its children roll up to Planned; a run was interrupted, so set it to Planned',
    );
  });

  it('warns about Complete containers with unfinished children', () => {
    const backlog = backlogOf(
      phase(
        'P1',
        [
          milestone(
            'P1.M1',
            [
              task(
                'P1.M1.T1',
                [
                  subtask('P1.M1.T1.S1', [], 'Complete'),
                  subtask('P1.M1.T1.S2', [], 'Obsolete'),
                  subtask('P1.M1.T1.S3', [], 'Failed'),
                ],
                'Complete',
              ),
            ],
            'Complete',
          ),
        ],
        'Complete',
      ),
    );
    const issues = checkBacklog(backlog);
    expect(summary(issues)).toEqual([
      [
        'COMPLETE_PARENT_UNFINISHED_CHILD',
        'warning',
        'backlog/0/milestones/0/tasks/0/status',
        'P1.M1.T1',
      ],
    ]);
    expect(issues[0]!.message).toBe(
      'P1.M1.T1 is Complete but its child is not finished: P1.M1.T1.S3 (Failed)',
    );
  });

  it('warns about repeated dependencies and an unknown currentItemId', () => {
    const backlog = oneTask(
      subtask('P1.M1.T1.S1'),
      subtask('P1.M1.T1.S2', ['P1.M1.T1.S1', 'P1.M1.T1.S1']),
    );
    backlog.currentItemId = 'P1.M1.T1.S7';
    expect(summary(checkBacklog(backlog))).toEqual([
      ['DUPLICATE_DEPENDENCY', 'warning', `${S}/1/dependencies/1`, 'P1.M1.T1.S2'],
      ['UNKNOWN_CURRENT_ITEM', 'warning', 'currentItemId', undefined],
    ]);
    backlog.currentItemId = null;
    expect(checkBacklog(backlog)).toHaveLength(1);
  });

  it('reports every problem of a backlog, in document order', () => {
    const backlog = backlogOf(
      phase('P1', [
        milestone('P1.M1', [
          task('P1.M1.T1', [
            subtask('P1.M1.T1.S1', ['P1.M1.T1.S2'], 'Implementing'),
            subtask('P1.M1.T1.S2', ['P1.M1.T1.S1', 'nope']),
            subtask('P1.M1.T1.S2', ['P1.M1.T1.S3']),
          ]),
          task('P1.M2.T2', [subtask('P1.M2.T2.S1', ['P1.M2.T2.S1'])]),
        ]),
      ]),
    );
    expect(summary(checkBacklog(backlog)).map((row) => `${row[0]}@${row[2]}`)).toEqual([
      `IN_FLIGHT_STATUS@${S}/0/status`,
      `DEPENDENCY_CYCLE@${S}/0/dependencies/0`,
      `UNKNOWN_DEPENDENCY@${S}/1/dependencies/1`,
      `DUPLICATE_ID@${S}/2/id`,
      `UNKNOWN_DEPENDENCY@${S}/2/dependencies/0`,
      'ID_PARENT_MISMATCH@backlog/0/milestones/0/tasks/1/id',
      'SELF_DEPENDENCY@backlog/0/milestones/0/tasks/1/subtasks/0/dependencies/0',
    ]);
  });

  it('handles 100,000-subtask dependency chains and cycles without recursion limits', () => {
    const count = 100_000;
    const subtasks: Subtask[] = [];
    for (let k = 1; k <= count; k++) {
      subtasks.push(subtask(`P1.M1.T1.S${k}`, k > 1 ? [`P1.M1.T1.S${k - 1}`] : []));
    }
    const backlog = oneTask(...subtasks);
    expect(checkBacklog(backlog)).toEqual([]);

    subtasks[0]!.dependencies.push(`P1.M1.T1.S${count}`);
    const issues = checkBacklog(backlog);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('DEPENDENCY_CYCLE');
    expect(issues[0]!.cycle).toHaveLength(count + 1);
    expect(issues[0]!.cycle!.slice(0, 3)).toEqual([
      'P1.M1.T1.S1',
      `P1.M1.T1.S${count}`,
      `P1.M1.T1.S${count - 1}`,
    ]);
  });

  it('rejects values that are not backlogs', () => {
    expect(() => checkBacklog(undefined as never)).toThrow(TypeError);
    expect(() => checkBacklog({ backlog: 'P1' } as never)).toThrow(
      /"backlog" array, got an object/,
    );
  });
});
