import { describe, expect, it } from 'vitest';
import { backlogOf, milestone, phase, phaseOfOneTask, subtask, task } from '../test/helpers.ts';
import { createBacklogIndex, formatOutline, summarizeCounts } from './index.ts';

describe('formatOutline', () => {
  it('prints every item in document order, indented by level, with its status mark', () => {
    const backlog = backlogOf(
      phaseOfOneTask(
        [
          subtask('P1.M1.T1.S1', [], 'Complete'),
          subtask('P1.M1.T1.S2', [], 'Failed'),
          subtask('P1.M1.T1.S3', [], 'Retrying'),
          subtask('P1.M1.T1.S4', [], 'Researching'),
          subtask('P1.M1.T1.S5', [], 'Obsolete'),
        ],
        'Implementing',
      ),
      phase('P2', [milestone('P2.M1', [task('P2.M1.T1', [subtask('P2.M1.T1.S1')])])]),
    );
    expect(formatOutline(backlog)).toEqual([
      '[~] P1 Phase P1 (Implementing)',
      '  [~] P1.M1 Milestone P1.M1 (Implementing)',
      '    [~] P1.M1.T1 Task P1.M1.T1 (Implementing)',
      '      [x] P1.M1.T1.S1 Subtask P1.M1.T1.S1 (Complete)',
      '      [F] P1.M1.T1.S2 Subtask P1.M1.T1.S2 (Failed)',
      '      [!] P1.M1.T1.S3 Subtask P1.M1.T1.S3 (Retrying)',
      '      [~] P1.M1.T1.S4 Subtask P1.M1.T1.S4 (Researching)',
      '      [-] P1.M1.T1.S5 Subtask P1.M1.T1.S5 (Obsolete)',
      '[ ] P2 Phase P2 (Planned)',
      '  [ ] P2.M1 Milestone P2.M1 (Planned)',
      '    [ ] P2.M1.T1 Task P2.M1.T1 (Planned)',
      '      [ ] P2.M1.T1.S1 Subtask P2.M1.T1.S1 (Planned)',
    ]);
  });

  it('prints nothing for an empty backlog', () => {
    expect(formatOutline(backlogOf())).toEqual([]);
  });
});

describe('summarizeCounts', () => {
  it('leaves Obsolete subtasks out of the total and rounds the percentage to one decimal', () => {
    const index = createBacklogIndex(
      backlogOf(
        phase('P1', [
          milestone('P1.M1', [
            task('P1.M1.T1', [
              subtask('P1.M1.T1.S1', [], 'Complete'),
              subtask('P1.M1.T1.S2', [], 'Failed'),
              subtask('P1.M1.T1.S3', [], 'Obsolete'),
              subtask('P1.M1.T1.S4'),
              subtask('P1.M1.T1.S5', [], 'Implementing'),
              subtask('P1.M1.T1.S6'),
              subtask('P1.M1.T1.S7'),
            ]),
          ]),
        ]),
      ),
    );
    const counts = index.countByStatus();
    expect(summarizeCounts(counts)).toEqual({
      total: 6,
      completed: 1,
      failed: 1,
      remaining: 4,
      percentage: 16.7,
      byStatus: counts,
    });
  });

  it('reports 100 percent when nothing counts', () => {
    const index = createBacklogIndex(
      backlogOf(
        phase('P1', [
          milestone('P1.M1', [task('P1.M1.T1', [subtask('P1.M1.T1.S1', [], 'Obsolete')])]),
        ]),
      ),
    );
    expect(summarizeCounts(index.countByStatus())).toMatchObject({
      total: 0,
      remaining: 0,
      percentage: 100,
    });
  });
});
