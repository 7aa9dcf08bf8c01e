import { describe, expectTypeOf, it } from 'vitest';
import {
  type Backlog,
  type BacklogError,
  type BacklogErrorCode,
  type BacklogIndex,
  type BacklogIssue,
  type BacklogIssueCode,
  type BacklogItem,
  createBacklogIndex,
  type ItemType,
  type Milestone,
  type Phase,
  parseBacklog,
  type SafeParseBacklogResult,
  type Status,
  type Subtask,
  safeParseBacklog,
  type Task,
} from './index.ts';

describe('types', () => {
  it('infers the backlog shape from the schemas', () => {
    expectTypeOf<Backlog['backlog']>().toEqualTypeOf<Phase[]>();
    expectTypeOf<Backlog['currentItemId']>().toEqualTypeOf<string | null | undefined>();
    expectTypeOf<Phase['milestones']>().toEqualTypeOf<Milestone[]>();
    expectTypeOf<Milestone['tasks']>().toEqualTypeOf<Task[]>();
    expectTypeOf<Task['subtasks']>().toEqualTypeOf<Subtask[]>();
    expectTypeOf<Subtask['story_points']>().toEqualTypeOf<number>();
    expectTypeOf<Subtask['dependencies']>().toEqualTypeOf<string[]>();
    expectTypeOf<Subtask['status']>().toEqualTypeOf<Status>();
    expectTypeOf<Subtask['type']>().toEqualTypeOf<'Subtask'>();
    // Loose objects: unknown keys are readable as unknown.
    expectTypeOf<Subtask['anything']>().toEqualTypeOf<unknown>();
    expectTypeOf<BacklogItem['type']>().toEqualTypeOf<ItemType>();
  });

  it('types the closed unions', () => {
    expectTypeOf<Status>().toEqualTypeOf<
      'Planned' | 'Researching' | 'Implementing' | 'Retrying' | 'Complete' | 'Failed' | 'Obsolete'
    >();
    expectTypeOf<BacklogErrorCode>().toEqualTypeOf<
      'INVALID_JSON' | 'SCHEMA' | 'GRAPH' | 'UNKNOWN_ID'
    >();
    expectTypeOf<BacklogIssue['code']>().toEqualTypeOf<BacklogIssueCode>();
    expectTypeOf<'DEPENDENCY_CYCLE'>().toExtend<BacklogIssueCode>();
    expectTypeOf<'NOT_A_CODE'>().not.toExtend<BacklogIssueCode>();
    expectTypeOf<BacklogError['code']>().toEqualTypeOf<BacklogErrorCode>();
  });

  it('types parsing and the index', () => {
    expectTypeOf(parseBacklog).returns.toEqualTypeOf<Backlog>();
    expectTypeOf(safeParseBacklog).returns.toEqualTypeOf<SafeParseBacklogResult>();
    const result = safeParseBacklog('{}');
    if (result.success) expectTypeOf(result.warnings).toEqualTypeOf<BacklogIssue[]>();
    else expectTypeOf(result.error).toEqualTypeOf<BacklogError>();

    expectTypeOf(createBacklogIndex).returns.toEqualTypeOf<BacklogIndex>();
    const index = createBacklogIndex({ backlog: [] });
    expectTypeOf(index.nextReady()).toEqualTypeOf<Subtask | undefined>();
    expectTypeOf(index.countByStatus()).toEqualTypeOf<Record<Status, number>>();
    expectTypeOf(index.setStatus('P1', 'Complete')).toEqualTypeOf<Backlog>();
    // @ts-expect-error: statuses are a closed set
    index.setStatus('P1', 'Done');
    // @ts-expect-error: the snapshot is read-only on the index
    index.backlog = { backlog: [] };
  });
});
