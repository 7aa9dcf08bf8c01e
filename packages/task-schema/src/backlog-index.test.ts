import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backlogOf,
  milestone,
  phase,
  REAL_BACKLOGS,
  sampleBacklog,
  subtask,
  task,
} from '../test/helpers.ts';
import {
  type Backlog,
  BacklogError,
  type BacklogItem,
  createBacklogIndex,
  parseBacklog,
  STATUSES,
  type Status,
  type Subtask,
} from './index.ts';

function ids(items: readonly BacklogItem[] | undefined) {
  return items?.map((item) => item.id);
}

function errorOf(run: () => unknown): BacklogError {
  try {
    run();
  } catch (error) {
    if (error instanceof BacklogError) return error;
    throw error;
  }
  throw new Error('expected a BacklogError, nothing was thrown');
}

describe('lookups', () => {
  const index = createBacklogIndex(sampleBacklog());

  it('finds items, parents, children and ancestors by id', () => {
    expect(index.get('P1.M1.T2')?.title).toBe('Task P1.M1.T2');
    expect(index.get('P1.M1.T2.S1')?.type).toBe('Subtask');
    expect(index.get('P9')).toBeUndefined();
    expect(index.has('P1.M2.T1.S1')).toBe(true);
    expect(index.has('P1.M2.T1.S2')).toBe(false);
    expect(index.getParent('P1.M1.T1.S2')?.id).toBe('P1.M1.T1');
    expect(index.getParent('P1')).toBeUndefined();
    expect(ids(index.getChildren('P1'))).toEqual(['P1.M1', 'P1.M2']);
    expect(ids(index.getChildren('P1.M1.T1'))).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2']);
    expect(index.getChildren('P1.M1.T1.S1')).toEqual([]);
    expect(ids(index.ancestors('P1.M1.T1.S2'))).toEqual(['P1.M1.T1', 'P1.M1', 'P1']);
    expect(index.ancestors('P1')).toEqual([]);
    expect(index.pathOf('P1.M1.T2.S1')).toEqual([
      'backlog',
      0,
      'milestones',
      0,
      'tasks',
      1,
      'subtasks',
      0,
    ]);
  });

  it('lists subtasks in depth-first order, for any scope', () => {
    const all = ['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T2.S1', 'P1.M2.T1.S1'];
    expect(ids(index.subtasks())).toEqual(all);
    expect(ids(index.subtasks('P1'))).toEqual(all);
    expect(ids(index.subtasks('P1.M1'))).toEqual(all.slice(0, 3));
    expect(ids(index.subtasks('P1.M1.T1'))).toEqual(all.slice(0, 2));
    expect(ids(index.subtasks('P1.M1.T1.S2'))).toEqual(['P1.M1.T1.S2']);
  });

  it('throws UNKNOWN_ID for ids it does not have and TypeError for non-strings', () => {
    const error = errorOf(() => index.subtasks('P1.M7'));
    expect(error.code).toBe('UNKNOWN_ID');
    expect(error.itemId).toBe('P1.M7');
    expect(error.message).toBe('subtasks: no item has id "P1.M7"');
    for (const call of [
      () => index.getParent('x'),
      () => index.getChildren('x'),
      () => index.ancestors('x'),
      () => index.isDone('x'),
      () => index.isReady('x'),
      () => index.blockers('x'),
      () => index.countByStatus('x'),
      () => index.nextReady({ scope: 'x' }),
      () => index.setStatus('x', 'Complete'),
      () => index.setCurrentItemId('x'),
    ]) {
      expect(errorOf(call).code).toBe('UNKNOWN_ID');
    }
    expect(() => index.get(1 as never)).toThrow(/expected an item id string, got number 1/);
    expect(() => index.setStatus('P1', 'Done' as never)).toThrow(TypeError);
    expect(() => index.setStatus('P1', 'Planned', { rollUp: 'no' as never })).toThrow(TypeError);
    expect(() => index.nextReady({ skip: true as never })).toThrow(TypeError);
  });

  it('refuses backlogs it cannot index', () => {
    expect(() => createBacklogIndex({} as never)).toThrow(TypeError);
    const duplicate = backlogOf(phase('P1', []), phase('P1', []));
    const error = errorOf(() => createBacklogIndex(duplicate));
    expect(error.code).toBe('GRAPH');
    expect(error.issues).toMatchObject([{ code: 'DUPLICATE_ID', path: ['backlog', 1, 'id'] }]);
    const bad = sampleBacklog();
    (bad.backlog[0]!.milestones[1] as { status: string }).status = 'Done';
    expect(errorOf(() => createBacklogIndex(bad)).code).toBe('SCHEMA');

    // A failed replace leaves the index as it was.
    const index = createBacklogIndex(sampleBacklog());
    const before = index.backlog;
    expect(errorOf(() => index.replace(duplicate)).code).toBe('GRAPH');
    expect(index.backlog).toBe(before);
    expect(index.nextReady()?.id).toBe('P1.M1.T1.S1');
  });
});

describe('setStatus onChange', () => {
  it('names each item the call changed, the item first, then ancestors nearest first', () => {
    const index = createBacklogIndex(sampleBacklog());
    const seen: string[] = [];
    const onChange = (id: string, status: string) => seen.push(`${id}=${status}`);
    index.setStatus('P1.M1.T1.S1', 'Implementing', { onChange });
    expect(seen).toEqual([
      'P1.M1.T1.S1=Implementing',
      'P1.M1.T1=Implementing',
      'P1.M1=Implementing',
      'P1=Implementing',
    ]);
    seen.length = 0;
    // Only T1 changes with it: M1 and P1 stay Implementing.
    index.setStatus('P1.M1.T1.S1', 'Complete', { onChange });
    expect(seen).toEqual(['P1.M1.T1.S1=Complete']);
    seen.length = 0;
    index.setStatus('P1.M1.T1.S2', 'Complete', { onChange });
    expect(seen).toEqual(['P1.M1.T1.S2=Complete', 'P1.M1.T1=Complete']);
    // Each name agrees with the index once the call has returned.
    for (const entry of seen) {
      const [id, status] = entry.split('=');
      expect(index.get(id!)?.status).toBe(status);
    }
    seen.length = 0;
    index.setStatus('P1.M1.T1.S2', 'Complete', { onChange });
    expect(seen).toEqual([]);
    index.setStatus('P1.M2.T1.S1', 'Failed', { rollUp: false, onChange });
    expect(seen).toEqual(['P1.M2.T1.S1=Failed']);
    expect(() => index.setStatus('P1.M2.T1.S1', 'Planned', { onChange: 'log' as never })).toThrow(
      /options.onChange must be a function, got/,
    );
  });
});

describe('readiness', () => {
  it('follows dependencies at every level', () => {
    const index = createBacklogIndex(sampleBacklog());
    expect(index.nextReady()?.id).toBe('P1.M1.T1.S1');
    expect(index.isReady('P1.M1.T1.S2')).toBe(false);
    expect(index.blockers('P1.M1.T1.S2')).toEqual(['P1.M1.T1.S1']);
    expect(index.nextReady({ scope: 'P1.M2' })).toBeUndefined();
    expect(index.isReady('P1.M2')).toBe(false);
    expect(index.isReady('P1.M1')).toBe(true);

    index.setStatus('P1.M1.T1.S1', 'Complete');
    expect(index.nextReady()?.id).toBe('P1.M1.T1.S2');
    expect(index.blockers('P1.M1.T2.S1')).toEqual(['P1.M1.T1']);
    index.setStatus('P1.M1.T1.S2', 'Complete');
    expect(index.isDone('P1.M1.T1')).toBe(true);
    expect(index.blockers('P1.M1.T2.S1')).toEqual([]);
    expect(index.nextReady()?.id).toBe('P1.M1.T2.S1');
    expect(index.isReady('P1.M2.T1.S1')).toBe(false);
    // Obsolete work counts as done for the container and for dependents.
    index.setStatus('P1.M1.T2.S1', 'Obsolete');
    expect(index.isDone('P1.M1')).toBe(true);
    expect(index.nextReady()?.id).toBe('P1.M2.T1.S1');
    index.setStatus('P1.M2.T1.S1', 'Complete');
    expect(index.nextReady()).toBeUndefined();
    expect(index.isDone('P1')).toBe(true);
  });

  it('offers Failed and in-flight subtasks unless skipped', () => {
    const index = createBacklogIndex(
      backlogOf(
        phase('P1', [
          milestone('P1.M1', [
            task('P1.M1.T1', [
              subtask('P1.M1.T1.S1', [], 'Failed'),
              subtask('P1.M1.T1.S2', [], 'Implementing'),
              subtask('P1.M1.T1.S3'),
            ]),
          ]),
        ]),
      ),
    );
    expect(index.nextReady()?.id).toBe('P1.M1.T1.S1');
    expect(index.nextReady({ skip: (s) => s.status === 'Failed' })?.id).toBe('P1.M1.T1.S2');
    expect(index.nextReady({ skip: (s) => s.status !== 'Planned' })?.id).toBe('P1.M1.T1.S3');
    expect(index.nextReady({ skip: () => true })).toBeUndefined();
  });

  it('never readies a subtask that depends on an unknown id or on its own task', () => {
    const index = createBacklogIndex(
      backlogOf(
        phase('P1', [
          milestone('P1.M1', [
            task('P1.M1.T1', [
              subtask('P1.M1.T1.S1', ['P4']),
              subtask('P1.M1.T1.S2', ['P1.M1.T1', 'P4', 'P4']),
            ]),
          ]),
        ]),
      ),
    );
    expect(index.nextReady()).toBeUndefined();
    expect(index.blockers('P1.M1.T1.S2')).toEqual(['P1.M1.T1', 'P4']);
    expect(index.blockers('P1.M1.T1')).toEqual([]);
  });

  it('treats an empty container as done', () => {
    const index = createBacklogIndex(
      backlogOf(
        phase('P1', [milestone('P1.M1', [task('P1.M1.T1', [subtask('P1.M1.T1.S1', ['P1.M2'])])])]),
        phase('P2', []),
      ),
    );
    expect(() => index.isDone('P1.M2')).toThrow(BacklogError);
    expect(index.isDone('P2')).toBe(true);
    expect(index.subtasks('P2')).toEqual([]);
    expect(index.nextReady({ scope: 'P2' })).toBeUndefined();
  });
});

describe('status changes', () => {
  function planned(): Backlog {
    return backlogOf(
      phase('P1', [
        milestone('P1.M1', [
          task('P1.M1.T1', [subtask('P1.M1.T1.S1'), subtask('P1.M1.T1.S2')]),
          task('P1.M1.T2', [subtask('P1.M1.T2.S1')]),
        ]),
        milestone('P1.M2', [task('P1.M2.T1', [subtask('P1.M2.T1.S1')])]),
      ]),
      phase('P2', [milestone('P2.M1', [task('P2.M1.T1', [subtask('P2.M1.T1.S1')])])]),
    );
  }
  const statusOf = (backlog: Backlog, at: (b: Backlog) => BacklogItem) => at(backlog).status;

  it('returns a new snapshot sharing every untouched branch, leaving the old one alone', () => {
    const first = planned();
    const frozen = JSON.stringify(first);
    const index = createBacklogIndex(first);
    const second = index.setStatus('P1.M1.T1.S2', 'Complete');
    expect(index.backlog).toBe(second);
    expect(second).not.toBe(first);
    expect(JSON.stringify(first)).toBe(frozen);

    const [p1, p2] = second.backlog;
    expect(p2).toBe(first.backlog[1]);
    expect(p1!.milestones[1]).toBe(first.backlog[0]!.milestones[1]);
    expect(p1!.milestones[0]!.tasks[1]).toBe(first.backlog[0]!.milestones[0]!.tasks[1]);
    expect(p1!.milestones[0]!.tasks[0]!.subtasks[0]).toBe(
      first.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0],
    );
    expect(p1!.milestones[0]!.tasks[0]!.subtasks[1]).not.toBe(
      first.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[1],
    );
    expect(p1!.milestones[0]!.tasks[0]!.subtasks[1]!.status).toBe('Complete');
    expect(p1!.milestones[0]!.tasks[0]!.subtasks[1]!.context_scope).toBe(
      first.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[1]!.context_scope,
    );
    expect(index.get('P1.M1.T1.S2')).toBe(p1!.milestones[0]!.tasks[0]!.subtasks[1]);
  });

  it('rolls statuses up by the documented rule', () => {
    const index = createBacklogIndex(planned());
    const t1 = (b: Backlog) => b.backlog[0]!.milestones[0]!.tasks[0]!;
    const m1 = (b: Backlog) => b.backlog[0]!.milestones[0]!;
    const p1 = (b: Backlog) => b.backlog[0]!;

    let b = index.setStatus('P1.M1.T1.S1', 'Researching');
    expect([statusOf(b, t1), statusOf(b, m1), statusOf(b, p1)]).toEqual([
      'Implementing',
      'Implementing',
      'Implementing',
    ]);
    b = index.setStatus('P1.M1.T1.S1', 'Planned');
    expect([statusOf(b, t1), statusOf(b, m1), statusOf(b, p1)]).toEqual([
      'Planned',
      'Planned',
      'Planned',
    ]);
    b = index.setStatus('P1.M1.T1.S1', 'Complete');
    expect(statusOf(b, t1)).toBe('Implementing');
    b = index.setStatus('P1.M1.T1.S2', 'Failed');
    expect(statusOf(b, t1)).toBe('Failed');
    expect(statusOf(b, m1)).toBe('Implementing');
    b = index.setStatus('P1.M1.T1.S2', 'Obsolete');
    expect(statusOf(b, t1)).toBe('Complete');
    b = index.setStatus('P1.M1.T1.S1', 'Obsolete');
    expect(statusOf(b, t1)).toBe('Obsolete');
    b = index.setStatus('P1.M1.T2.S1', 'Complete');
    expect(statusOf(b, m1)).toBe('Complete');
    b = index.setStatus('P1.M2.T1.S1', 'Failed');
    expect(statusOf(b, p1)).toBe('Failed');
    expect(b.backlog[1]!.status).toBe('Planned');
  });

  it('changes only the item when rollUp is false, and derives ancestors of a container', () => {
    const index = createBacklogIndex(planned());
    let b = index.setStatus('P1.M1.T1.S1', 'Complete', { rollUp: false });
    expect(b.backlog[0]!.milestones[0]!.tasks[0]!.status).toBe('Planned');
    expect(index.countByStatus('P1.M1.T1').Complete).toBe(1);
    b = index.setStatus('P1.M1.T2', 'Complete');
    expect(b.backlog[0]!.milestones[0]!.tasks[1]!.status).toBe('Complete');
    expect(b.backlog[0]!.milestones[0]!.status).toBe('Implementing');
    expect(index.countByStatus('P1.M1.T2')).toMatchObject({ Planned: 1, Complete: 0 });
  });

  it('repairs ancestors when an item is set to the status it already has', () => {
    const stale = planned();
    stale.backlog[0]!.status = 'Complete';
    stale.backlog[0]!.milestones[0]!.status = 'Retrying';
    const index = createBacklogIndex(stale);
    const next = index.setStatus('P1.M1.T1.S1', 'Planned');
    expect(next.backlog[0]!.milestones[0]!.status).toBe('Planned');
    expect(next.backlog[0]!.status).toBe('Planned');
    expect(next.backlog[0]!.milestones[0]!.tasks[0]).toBe(
      stale.backlog[0]!.milestones[0]!.tasks[0],
    );
  });

  it('returns the same snapshot when nothing changes', () => {
    const index = createBacklogIndex(planned());
    const before = index.backlog;
    expect(index.setStatus('P1.M1.T1.S1', 'Planned')).toBe(before);
    expect(index.setStatus('P1', 'Planned', { rollUp: false })).toBe(before);
  });

  it('keeps counts by status for every scope', () => {
    const index = createBacklogIndex(planned());
    const zero = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    expect(index.countByStatus()).toEqual({ ...zero, Planned: 5 });
    index.setStatus('P1.M1.T1.S1', 'Complete');
    index.setStatus('P1.M2.T1.S1', 'Failed');
    index.setStatus('P2.M1.T1.S1', 'Retrying');
    expect(index.countByStatus()).toEqual({
      ...zero,
      Planned: 2,
      Complete: 1,
      Failed: 1,
      Retrying: 1,
    });
    expect(index.countByStatus('P1')).toEqual({ ...zero, Planned: 2, Complete: 1, Failed: 1 });
    expect(index.countByStatus('P1.M1.T1')).toEqual({ ...zero, Planned: 1, Complete: 1 });
    expect(index.countByStatus('P1.M1.T1.S1')).toEqual({ ...zero, Complete: 1 });
  });

  it('sets currentItemId without touching the tree', () => {
    const first = planned();
    const index = createBacklogIndex(first);
    const second = index.setCurrentItemId('P1.M1.T2.S1');
    expect(Object.keys(second)).toEqual(['backlog', 'currentItemId']);
    expect(second.backlog).toBe(first.backlog);
    expect('currentItemId' in first).toBe(false);
    expect(index.setCurrentItemId('P1.M1.T2.S1')).toBe(second);
    expect(index.setCurrentItemId(null).currentItemId).toBeNull();
  });

  it('re-indexes a replaced backlog', () => {
    const index = createBacklogIndex(planned());
    index.replace(sampleBacklog());
    expect(index.has('P2')).toBe(false);
    expect(index.countByStatus().Planned).toBe(4);
    expect(index.nextReady()?.id).toBe('P1.M1.T1.S1');
  });

  it('keeps unknown keys and their order through updates', () => {
    const backlog = planned() as unknown as { backlog: Record<string, unknown>[] };
    backlog.backlog[0] = { note: 1, ...backlog.backlog[0], tail: true };
    const index = createBacklogIndex(backlog as unknown as Backlog);
    const next = index.setStatus('P1.M1.T1.S1', 'Complete');
    expect(Object.keys(next.backlog[0]!)).toEqual([
      'note',
      'type',
      'id',
      'title',
      'status',
      'description',
      'milestones',
      'tail',
    ]);
  });
});

describe.skipIf(!existsSync(REAL_BACKLOGS))('the real backlogs through the index', () => {
  const files = existsSync(REAL_BACKLOGS)
    ? readdirSync(REAL_BACKLOGS).filter((name) => name.endsWith('.tasks.json'))
    : [];

  it.each(files)('%s can be replanned and run to completion in dependency order', (name) => {
    const backlog = parseBacklog(readFileSync(path.join(REAL_BACKLOGS, name), 'utf8'));
    const index = createBacklogIndex(backlog);
    const total = index.subtasks().length;
    expect(index.countByStatus().Complete).toBe(total);
    expect(index.nextReady()).toBeUndefined();

    for (const s of index.subtasks()) index.setStatus(s.id, 'Planned');
    expect(index.backlog.backlog.every((p) => p.status === 'Planned')).toBe(true);
    expect(backlog.backlog.every((p) => p.status === 'Complete')).toBe(true);

    const done = new Set<string>();
    for (let next = index.nextReady(); next; next = index.nextReady()) {
      for (const dep of next.dependencies) {
        const target = index.subtasks(dep).map((s) => s.id);
        expect(target.every((id) => done.has(id))).toBe(true);
      }
      done.add(next.id);
      index.setStatus(next.id, 'Complete');
    }
    expect(done.size).toBe(total);
    expect(index.backlog).toEqual(backlog);
  });
});

describe('index against a naive full rebuild (property)', () => {
  type Op =
    | { kind: 'status'; target: number; status: Status; rollUp: boolean }
    | { kind: 'current'; target: number | null };

  const statusArb = fc.constantFrom(...STATUSES);
  const shapeArb = fc.array(
    fc.array(fc.array(fc.array(statusArb, { maxLength: 4 }), { maxLength: 3 }), { maxLength: 3 }),
    { minLength: 1, maxLength: 3 },
  );
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 9,
      arbitrary: fc.record({
        kind: fc.constant('status' as const),
        target: fc.nat(),
        status: statusArb,
        rollUp: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('current' as const), target: fc.option(fc.nat()) }),
    },
  );
  const caseArb = fc.record({
    shape: shapeArb,
    deps: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 25 }),
    extras: fc.array(fc.nat(), { maxLength: 5 }),
    ops: fc.array(opArb, { minLength: 1, maxLength: 30 }),
    skipStatus: statusArb,
  });

  it('gives the same backlogs, counts, readiness and roll-up, and never mutates a snapshot', () => {
    fc.assert(
      fc.property(caseArb, ({ shape, deps, extras, ops, skipStatus }) => {
        const backlog = build(shape, deps, extras);
        const all = flatten(backlog);
        const index = createBacklogIndex(structuredClone(backlog));
        let model = structuredClone(backlog);
        const snapshots: [Backlog, string][] = [[index.backlog, JSON.stringify(index.backlog)]];

        for (const op of ops) {
          const before = index.backlog;
          if (op.kind === 'status') {
            const id = all[op.target % all.length]!.id;
            index.setStatus(id, op.status, { rollUp: op.rollUp });
            model = naiveSetStatus(model, id, op.status, op.rollUp);
            expectSharing(before, index.backlog, id);
          } else {
            const id = op.target === null ? null : all[op.target % all.length]!.id;
            index.setCurrentItemId(id);
            model = { ...model, currentItemId: id };
          }
          snapshots.push([index.backlog, JSON.stringify(index.backlog)]);

          expect(JSON.stringify(index.backlog)).toBe(JSON.stringify(model));
          const skip = (s: Subtask) => s.status === skipStatus;
          expect(index.nextReady()?.id).toBe(naiveNextReady(model)?.id);
          expect(index.nextReady({ skip })?.id).toBe(naiveNextReady(model, undefined, skip)?.id);
          expect(index.countByStatus()).toEqual(naiveCount(model));
          for (const item of all) {
            expect(index.isDone(item.id)).toBe(naiveIsDone(model, item.id));
            expect(index.countByStatus(item.id)).toEqual(naiveCount(model, item.id));
            expect(index.nextReady({ scope: item.id })?.id).toBe(
              naiveNextReady(model, item.id)?.id,
            );
          }
        }
        for (const [snapshot, text] of snapshots) expect(JSON.stringify(snapshot)).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  /** Builds a backlog from nested status arrays; deps are (subtask, target) picks over all ids. */
  function build(shape: Status[][][][], deps: [number, number][], extras: number[]): Backlog {
    const backlog = backlogOf(
      ...shape.map((milestones, p) =>
        phase(
          `P${p + 1}`,
          milestones.map((tasks, m) =>
            milestone(
              `P${p + 1}.M${m + 1}`,
              tasks.map((subtasks, t) =>
                task(
                  `P${p + 1}.M${m + 1}.T${t + 1}`,
                  subtasks.map((status, s) =>
                    subtask(`P${p + 1}.M${m + 1}.T${t + 1}.S${s + 1}`, [], status),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
    const items = flatten(backlog);
    const subtasks = items.filter((item): item is Subtask => item.type === 'Subtask');
    if (subtasks.length > 0) {
      for (const [from, to] of deps) {
        // One pick in eight names an id that does not exist, the rest any item at any level.
        const target = to % 8 === 7 ? 'P9.M9' : items[to % items.length]!.id;
        subtasks[from % subtasks.length]!.dependencies.push(target);
      }
    }
    for (const pick of extras) {
      const item = items[pick % items.length]! as Record<string, unknown>;
      item[`x${pick % 3}`] = { pick };
    }
    return backlog;
  }

  function expectSharing(before: Backlog, after: Backlog, id: string) {
    const old = new Map(flatten(before).map((item) => [item.id, item]));
    for (const item of flatten(after)) {
      const onPath = id === item.id || id.startsWith(`${item.id}.`);
      if (!onPath) expect(item).toBe(old.get(item.id));
    }
  }
});

function flatten(backlog: Backlog): BacklogItem[] {
  const out: BacklogItem[] = [];
  const visit = (item: BacklogItem) => {
    out.push(item);
    const children =
      item.type === 'Phase'
        ? item.milestones
        : item.type === 'Milestone'
          ? item.tasks
          : item.type === 'Task'
            ? item.subtasks
            : [];
    children.forEach(visit);
  };
  backlog.backlog.forEach(visit);
  return out;
}

function childrenOf(item: BacklogItem): BacklogItem[] {
  if (item.type === 'Phase') return item.milestones;
  if (item.type === 'Milestone') return item.tasks;
  if (item.type === 'Task') return item.subtasks;
  return [];
}

/** The reference: deep-copy the whole backlog, find the item by scanning, derive ancestors. */
function naiveSetStatus(backlog: Backlog, id: string, status: Status, rollUp: boolean): Backlog {
  const copy = structuredClone(backlog);
  const chain: BacklogItem[] = [];
  const find = (items: BacklogItem[]): boolean => {
    for (const item of items) {
      chain.push(item);
      if (item.id === id || find(childrenOf(item))) return true;
      chain.pop();
    }
    return false;
  };
  if (!find(copy.backlog)) throw new Error(`no ${id}`);
  chain[chain.length - 1]!.status = status;
  if (rollUp) {
    for (let k = chain.length - 2; k >= 0; k--) {
      const children = childrenOf(chain[k]!);
      const count = (s: Status) => children.filter((child) => child.status === s).length;
      const finished = count('Complete') + count('Obsolete');
      chain[k]!.status =
        count('Obsolete') === children.length
          ? 'Obsolete'
          : finished === children.length
            ? 'Complete'
            : count('Failed') === children.length - finished
              ? 'Failed'
              : count('Planned') < children.length
                ? 'Implementing'
                : 'Planned';
    }
  }
  return copy;
}

function scopeSubtasks(backlog: Backlog, scope?: string): Subtask[] {
  const items = flatten(backlog);
  const root = scope === undefined ? undefined : items.find((item) => item.id === scope);
  const within = root === undefined ? items : flatten({ backlog: [root as never] });
  return within.filter((item): item is Subtask => item.type === 'Subtask');
}

function naiveIsDone(backlog: Backlog, id: string): boolean {
  const item = flatten(backlog).find((candidate) => candidate.id === id);
  if (item === undefined) return false;
  return scopeSubtasks(backlog, id).every(
    (s) => s.status === 'Complete' || s.status === 'Obsolete',
  );
}

function naiveNextReady(
  backlog: Backlog,
  scope?: string,
  skip?: (s: Subtask) => boolean,
): Subtask | undefined {
  return scopeSubtasks(backlog, scope).find(
    (s) =>
      s.status !== 'Complete' &&
      s.status !== 'Obsolete' &&
      !skip?.(s) &&
      s.dependencies.every((dep) => naiveIsDone(backlog, dep)),
  );
}

function naiveCount(backlog: Backlog, scope?: string): Record<Status, number> {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  for (const s of scopeSubtasks(backlog, scope)) counts[s.status]++;
  return counts;
}
