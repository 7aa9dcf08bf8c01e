import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { ProgressError } from './errors.ts';
import { prefixGroups } from './groups.ts';
import { type Progress, ProgressTracker, type ProgressTrackerOptions } from './tracker.ts';

function manualClock(start = 1_000) {
  let now = start;
  return {
    clock: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

function tracker(options: Partial<ProgressTrackerOptions> & { total: number }) {
  const time = manualClock();
  return { time, tracker: new ProgressTracker({ clock: time.clock, ...options }) };
}

/** Starts and completes `count` items, each `gapMs` after the previous one. */
function finishEvery(
  t: ProgressTracker,
  time: ReturnType<typeof manualClock>,
  ids: string[],
  gapMs: number,
) {
  for (const id of ids) {
    t.start(id);
    time.advance(gapMs);
    t.complete(id);
  }
}

describe('counts', () => {
  it('derives remaining and percentage from completed and failed', () => {
    const { tracker: t } = tracker({ total: 82 });
    for (let i = 0; i < 40; i += 1) t.complete(`c${i}`);
    for (let i = 0; i < 3; i += 1) t.fail(`f${i}`);
    const p = t.getProgress();
    expect(p).toMatchObject({ total: 82, completed: 40, failed: 3, remaining: 39 });
    expect(p.percentage).toBeCloseTo((40 / 82) * 100, 10);
  });

  it('reports 100% for an empty run and 0% before anything is done', () => {
    expect(tracker({ total: 0 }).tracker.getProgress()).toMatchObject({
      percentage: 100,
      remaining: 0,
      etaMs: 0,
    });
    expect(tracker({ total: 5 }).tracker.getProgress()).toMatchObject({
      percentage: 0,
      remaining: 5,
      etaMs: null,
    });
  });

  it('counts the same completion once however often it is reported', () => {
    const { tracker: t } = tracker({ total: 3 });
    expect(t.complete('a')).toBe(true);
    expect(t.complete('a')).toBe(false);
    t.start('b');
    t.complete('b');
    t.complete('b');
    expect(t.getProgress()).toMatchObject({ completed: 2, remaining: 1, samples: 2 });
  });

  it('lets a failed item be retried or completed, withdrawing its failure', () => {
    const { tracker: t } = tracker({ total: 2 });
    t.fail('a');
    t.fail('b');
    expect(t.getProgress()).toMatchObject({ failed: 2, remaining: 0 });
    t.start('a');
    expect(t.getProgress()).toMatchObject({
      failed: 1,
      active: 1,
      remaining: 1,
      current: { id: 'a' },
    });
    t.complete('a');
    t.complete('b');
    expect(t.getProgress()).toMatchObject({
      completed: 2,
      failed: 0,
      remaining: 0,
      percentage: 100,
    });
  });

  it('skip removes an item from the total, from in flight and from failed', () => {
    const { tracker: t } = tracker({ total: 10 });
    t.start('a');
    t.skip('a');
    t.skip('b');
    t.fail('c');
    t.skip('c');
    expect(t.skip('c')).toBe(false);
    const p = t.getProgress();
    expect(p).toMatchObject({
      total: 7,
      skipped: 3,
      failed: 0,
      active: 0,
      remaining: 7,
      percentage: 0,
    });
    expect(p.current).toBeUndefined();
    for (let i = 0; i < 7; i += 1) t.complete(`d${i}`);
    expect(t.getProgress()).toMatchObject({ percentage: 100, remaining: 0 });
  });

  it('never lets remaining go negative when more items turn up than declared', () => {
    const { tracker: t } = tracker({ total: 2 });
    t.complete('a');
    t.complete('b');
    t.start('c');
    expect(t.getProgress()).toMatchObject({ total: 3, remaining: 1 });
    t.complete('c');
    const p = t.getProgress();
    expect(p).toMatchObject({ total: 3, completed: 3, remaining: 0, percentage: 100 });
  });

  it('setTotal replaces the total', () => {
    const { tracker: t } = tracker({ total: 4, completed: 1 });
    t.setTotal(10);
    expect(t.getProgress()).toMatchObject({ total: 10, remaining: 9, percentage: 10 });
  });

  it('names the most recently started item still in flight as current', () => {
    const { tracker: t } = tracker({ total: 3 });
    t.start('a', { title: 'first' });
    t.start('b', { title: 'second' });
    expect(t.getProgress().current).toEqual({ id: 'b', title: 'second' });
    t.complete('b');
    expect(t.getProgress().current).toEqual({ id: 'a', title: 'first' });
    t.start('a', { title: 'renamed' });
    expect(t.getProgress().current).toEqual({ id: 'a', title: 'renamed' });
  });

  it('rejects transitions out of a final state with a TypeError', () => {
    const { tracker: t } = tracker({ total: 3 });
    t.complete('a');
    t.skip('b');
    expect(() => t.start('a')).toThrow(
      /expected an unfinished or failed item, got completed item "a"/,
    );
    expect(() => t.fail('a')).toThrow(TypeError);
    expect(() => t.skip('a')).toThrow(TypeError);
    expect(() => t.complete('b')).toThrow(/got skipped item "b"/);
    expect(() => t.start('b')).toThrow(TypeError);
    expect(t.getProgress()).toMatchObject({ completed: 1, skipped: 1, total: 2 });
  });

  it('rejects bad options and arguments with TypeErrors that say what was given', () => {
    const bad: [unknown, RegExp][] = [
      [undefined, /expected an options object, got undefined/],
      [{ total: -1 }, /expected total to be an integer >= 0, got -1/],
      [{ total: 1.5 }, /got 1.5/],
      [{ total: 3, completed: 2, failed: 2 }, /completed \+ failed <= total/],
      [{ total: 3, halfLifeMs: 0 }, /halfLifeMs/],
      [{ total: 3, minSamples: 0 }, /minSamples/],
      [{ total: 3, clock: 5 }, /clock to be a function, got 5/],
      [{ total: 3, groups: { P1: { total: 1, completed: 2 } } }, /group "P1"/],
    ];
    for (const [options, message] of bad) {
      expect(() => new ProgressTracker(options as ProgressTrackerOptions)).toThrow(message);
    }
    const t = new ProgressTracker({ total: 1 });
    expect(() => t.start('')).toThrow(/non-empty string id, got ""/);
    expect(() => t.start(7 as unknown as string)).toThrow(/got 7/);
    expect(() => t.setTotal(-2)).toThrow(TypeError);
    expect(() => t.on('finished' as 'done', () => {})).toThrow(/expected one of progress, start/);
    expect(() => new ProgressTracker({ total: 1, clock: () => Number.NaN })).toThrow(
      /finite number, got NaN/,
    );
  });
});

describe('rate and ETA', () => {
  it('measures the gap between finishes and gives an ETA from the third one', () => {
    const { time, tracker: t } = tracker({ total: 10 });
    finishEvery(t, time, ['a', 'b'], 12_000);
    expect(t.getProgress()).toMatchObject({
      samples: 2,
      msPerItem: 12_000,
      ratePerMinute: 5,
      etaMs: null,
    });
    finishEvery(t, time, ['c'], 12_000);
    const p = t.getProgress();
    expect(p.samples).toBe(3);
    expect(p.etaMs).toBeCloseTo(7 * 12_000, 6);
    expect(p.ratePerMinute).toBeCloseTo(5, 10);
  });

  it('honours minSamples', () => {
    const { time, tracker: t } = tracker({ total: 10, minSamples: 5 });
    finishEvery(t, time, ['a', 'b', 'c', 'd'], 1_000);
    expect(t.getProgress().etaMs).toBeNull();
    finishEvery(t, time, ['e'], 1_000);
    expect(t.getProgress().etaMs).toBeCloseTo(5_000, 6);
  });

  it('weights samples by age with the configured half-life', () => {
    const { time, tracker: t } = tracker({ total: 10, halfLifeMs: 10_000, minSamples: 1 });
    finishEvery(t, time, ['a'], 10_000);
    finishEvery(t, time, ['b'], 20_000);
    // a (10 s) finished 20 s = two half-lives before b (20 s): weights 1/4 and 1.
    const expected = (0.25 * 10_000 + 1 * 20_000) / 1.25;
    const p = t.getProgress();
    expect(p.msPerItem).toBeCloseTo(expected, 6);
    expect(p.etaMs).toBeCloseTo(8 * expected, 4);
  });

  it('follows a change of pace', () => {
    const { time, tracker: t } = tracker({ total: 100, halfLifeMs: 60_000 });
    finishEvery(
      t,
      time,
      Array.from({ length: 20 }, (_, i) => `fast${i}`),
      5_000,
    );
    expect(t.getProgress().msPerItem).toBeCloseTo(5_000, 6);
    finishEvery(
      t,
      time,
      Array.from({ length: 20 }, (_, i) => `slow${i}`),
      30_000,
    );
    // Ten minutes of slow items is ten half-lives: the fast ones have all but vanished.
    expect(t.getProgress().msPerItem).toBeGreaterThan(29_900);
  });

  it('counts failures as samples, since failed items leave remaining too', () => {
    const { time, tracker: t } = tracker({ total: 6 });
    for (const id of ['a', 'b', 'c']) {
      t.start(id);
      time.advance(4_000);
      t.fail(id);
    }
    expect(t.getProgress()).toMatchObject({ samples: 3, remaining: 3 });
    expect(t.getProgress().etaMs).toBeCloseTo(12_000, 6);
  });

  it('starts the first gap at the first start, not at construction', () => {
    const { time, tracker: t } = tracker({ total: 5, minSamples: 1 });
    time.advance(60_000);
    finishEvery(t, time, ['a'], 2_000);
    expect(t.getProgress().msPerItem).toBe(2_000);
  });

  it('starts the first gap at construction when items are completed without being started', () => {
    const { time, tracker: t } = tracker({ total: 5, minSamples: 1 });
    time.advance(3_000);
    t.complete('a');
    time.advance(3_000);
    t.complete('b');
    expect(t.getProgress().msPerItem).toBe(3_000);
  });

  it('measures throughput when several items run at once', () => {
    const { time, tracker: t } = tracker({ total: 8 });
    for (const batch of [
      ['a', 'b', 'c', 'd'],
      ['e', 'f', 'g', 'h'],
    ]) {
      for (const id of batch) t.start(id);
      time.advance(40_000);
      for (const id of batch) t.complete(id);
    }
    expect(t.getProgress().samples).toBe(8);
    // Four items every 40 s is 10 s an item of wall clock; weighting only smears it slightly.
    expect(t.getProgress().msPerItem).toBeGreaterThan(9_000);
    expect(t.getProgress().msPerItem).toBeLessThan(11_000);
  });

  it('keeps the ETA steady while the current gap is shorter than the average', () => {
    const { time, tracker: t } = tracker({ total: 10 });
    finishEvery(t, time, ['a', 'b', 'c'], 10_000);
    const atFinish = t.getProgress().etaMs;
    time.advance(9_999);
    expect(t.getProgress().etaMs).toBe(atFinish);
  });

  it('decays while idle: the estimate rises and the rate falls continuously toward the idle time', () => {
    const { time, tracker: t } = tracker({ total: 10, halfLifeMs: 60_000 });
    finishEvery(t, time, ['a', 'b', 'c'], 10_000);
    const readings: Progress[] = [];
    for (let idle = 10_000; idle <= 3_600_000; idle += 10_000) {
      time.advance(10_000);
      readings.push(t.getProgress());
    }
    for (let i = 1; i < readings.length; i += 1) {
      expect(readings[i]!.msPerItem!).toBeGreaterThanOrEqual(readings[i - 1]!.msPerItem!);
      expect(readings[i]!.ratePerMinute).toBeLessThanOrEqual(readings[i - 1]!.ratePerMinute);
      expect(readings[i]!.etaMs!).toBeGreaterThanOrEqual(readings[i - 1]!.etaMs!);
    }
    const afterTwoMinutes = readings[11]!;
    expect(afterTwoMinutes.msPerItem!).toBeGreaterThan(20_000);
    expect(afterTwoMinutes.msPerItem!).toBeLessThan(120_000);
    // An hour is sixty half-lives: only the idle time itself is left.
    const afterAnHour = readings.at(-1)!;
    expect(afterAnHour.msPerItem!).toBeCloseTo(3_600_000, -3);
    expect(afterAnHour.etaMs!).toBeCloseTo(7 * 3_600_000, -4);
  });

  it('recovers after an idle period once items finish again', () => {
    const { time, tracker: t } = tracker({ total: 100, halfLifeMs: 30_000 });
    finishEvery(t, time, ['a', 'b', 'c'], 5_000);
    time.advance(600_000);
    const idle = t.getProgress().msPerItem!;
    finishEvery(
      t,
      time,
      Array.from({ length: 60 }, (_, i) => `x${i}`),
      5_000,
    );
    const after = t.getProgress().msPerItem!;
    expect(idle).toBeGreaterThan(100_000);
    // The idle gap is a real sample, but ten half-lives later it weighs 1/1024.
    expect(after).toBeLessThan(5_500);
  });

  it('never changes its estimate by being read', () => {
    const history = (read: boolean) => {
      const time = manualClock();
      const t = new ProgressTracker({ total: 20, clock: time.clock, halfLifeMs: 20_000 });
      const gaps = [3_000, 50_000, 7_000, 1_000, 90_000, 4_000];
      gaps.forEach((gap, i) => {
        t.start(`i${i}`);
        for (let step = 0; step < gap; step += 500) {
          time.advance(Math.min(500, gap - step));
          if (read) for (let k = 0; k < 3; k += 1) t.getProgress();
        }
        t.complete(`i${i}`);
      });
      time.advance(12_345);
      return t.getProgress();
    };
    expect(history(true)).toEqual(history(false));
  });

  it('leaves work done before this run out of the rate but in the percentage (resume)', () => {
    const { time, tracker: t } = tracker({ total: 82, completed: 40, failed: 2 });
    const start = t.getProgress();
    expect(start).toMatchObject({
      completed: 40,
      failed: 2,
      remaining: 40,
      samples: 0,
      ratePerMinute: 0,
      etaMs: null,
    });
    expect(start.percentage).toBeCloseTo((40 / 82) * 100, 10);
    finishEvery(t, time, ['a', 'b', 'c'], 30_000);
    const p = t.getProgress();
    expect(p.completed).toBe(43);
    expect(p.percentage).toBeCloseTo((43 / 82) * 100, 10);
    expect(p.ratePerMinute).toBeCloseTo(2, 10);
    expect(p.etaMs).toBeCloseTo(37 * 30_000, 4);
    expect(p.elapsedMs).toBe(90_000);
  });

  it('keeps the last estimate once nothing remains, however long the run then sits idle', () => {
    const { time, tracker: t } = tracker({ total: 3 });
    finishEvery(t, time, ['a', 'b', 'c'], 4_000);
    const done = t.getProgress();
    time.advance(3_600_000);
    expect(t.getProgress()).toMatchObject({
      msPerItem: done.msPerItem,
      ratePerMinute: 15,
      etaMs: 0,
    });
  });

  it('runs on the default clock under fake timers', () => {
    vi.useFakeTimers();
    try {
      const t = new ProgressTracker({ total: 10 });
      for (const id of ['a', 'b', 'c']) {
        t.start(id);
        vi.advanceTimersByTime(6_000);
        t.complete(id);
      }
      const p = t.getProgress();
      expect(p.ratePerMinute).toBeCloseTo(10, 6);
      expect(p.etaMs).toBeCloseTo(42_000, 3);
      expect(p.elapsedMs).toBeCloseTo(18_000, 3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives 0 ms once nothing remains, even before warm-up', () => {
    const { tracker: t } = tracker({ total: 3, completed: 2 });
    t.complete('last');
    expect(t.getProgress()).toMatchObject({ remaining: 0, etaMs: 0, samples: 1 });
  });
});

describe('groups', () => {
  it('splits dotted ids into phase and milestone groups', () => {
    const groupOf = prefixGroups({ levels: 2 });
    expect(groupOf('P1.M2.T3.S4')).toEqual(['P1', 'P1.M2']);
    expect(groupOf('P1')).toEqual([]);
    expect(prefixGroups()('P1.M2.T3.S4')).toEqual(['P1', 'P1.M2', 'P1.M2.T3']);
    expect(prefixGroups({ separator: '/', levels: 1 })('a/b/c')).toEqual(['a']);
    expect(() => prefixGroups({ levels: 0 })).toThrow(TypeError);
  });

  it('keeps per-group totals, resume offsets and percentages', () => {
    const { tracker: t } = tracker({
      total: 10,
      completed: 3,
      groupOf: prefixGroups({ levels: 2 }),
      groups: {
        P1: { total: 6, completed: 3, title: 'Foundations' },
        'P1.M1': { total: 3, completed: 3 },
        'P1.M2': { total: 3 },
        P2: { total: 4 },
        'P2.M1': { total: 4 },
      },
    });
    t.start('P1.M2.T1.S1');
    t.complete('P1.M2.T1.S1');
    t.fail('P1.M2.T1.S2');
    t.start('P2.M1.T1.S1');
    t.skip('P2.M1.T2.S1');
    const byId = Object.fromEntries(t.getProgress().groups!.map((g) => [g.id, g]));
    expect(t.getProgress().groups!.map((g) => g.id)).toEqual([
      'P1',
      'P1.M1',
      'P1.M2',
      'P2',
      'P2.M1',
    ]);
    expect(byId.P1).toEqual({
      id: 'P1',
      title: 'Foundations',
      total: 6,
      completed: 4,
      failed: 1,
      active: 0,
      remaining: 1,
      percentage: (4 / 6) * 100,
    });
    expect(byId['P1.M1']).toMatchObject({ completed: 3, remaining: 0, percentage: 100 });
    expect(byId['P1.M2']).toMatchObject({ total: 3, completed: 1, failed: 1, remaining: 1 });
    expect(byId.P2).toMatchObject({
      total: 3,
      completed: 0,
      active: 1,
      remaining: 3,
      percentage: 0,
    });
    expect(t.getProgress()).toMatchObject({ total: 9, completed: 4, failed: 1, remaining: 4 });
  });

  it('creates groups named by items on the fly, sized by the items seen', () => {
    const { tracker: t } = tracker({ total: 5 });
    t.start('a', { group: 'build' });
    t.complete('a');
    t.start('b', { group: ['build', 'slow'] });
    t.complete('c', { group: 'test' });
    const groups = t.getProgress().groups!;
    expect(groups.map((g) => [g.id, g.total, g.completed, g.active])).toEqual([
      ['build', 2, 1, 1],
      ['slow', 1, 0, 1],
      ['test', 1, 1, 0],
    ]);
  });

  it('lets an explicit group override groupOf and setGroupTotal size a group later', () => {
    const { tracker: t } = tracker({ total: 4, groupOf: () => 'derived' });
    t.complete('a', { group: 'explicit' });
    t.complete('b');
    t.setGroupTotal('derived', { total: 3, title: 'Derived' });
    expect(t.getProgress().groups).toEqual([
      {
        id: 'explicit',
        total: 1,
        completed: 1,
        failed: 0,
        active: 0,
        remaining: 0,
        percentage: 100,
      },
      {
        id: 'derived',
        title: 'Derived',
        total: 3,
        completed: 1,
        failed: 0,
        active: 0,
        remaining: 2,
        percentage: (1 / 3) * 100,
      },
    ]);
  });

  it('omits groups when there are none', () => {
    expect(tracker({ total: 1 }).tracker.getProgress().groups).toBeUndefined();
  });
});

describe('events', () => {
  it('announces item events, then progress, then done', () => {
    const { tracker: t } = tracker({ total: 2, completed: 1 });
    const seen: string[] = [];
    t.on('start', (e) => seen.push(`start ${e.id} ${e.title} ${e.progress.active}`));
    t.on('complete', (e) => seen.push(`complete ${e.id} ${e.progress.completed}`));
    t.on('progress', (p) => seen.push(`progress ${p.completed}`));
    t.on('done', (p) => seen.push(`done ${p.remaining}`));
    t.start('a', { title: 'A' });
    t.complete('a');
    t.complete('a');
    expect(seen).toEqual(['start a A 1', 'progress 1', 'complete a 2', 'progress 2', 'done 0']);
  });

  it('announces done again only after remaining rose above zero', () => {
    const { tracker: t } = tracker({ total: 1 });
    const done = vi.fn();
    t.on('done', done);
    t.complete('a');
    t.setTotal(1);
    expect(done).toHaveBeenCalledTimes(1);
    t.setTotal(2);
    t.fail('b');
    expect(done).toHaveBeenCalledTimes(2);
  });

  it('unsubscribes through the returned function and through off', () => {
    const { tracker: t } = tracker({ total: 5 });
    const a = vi.fn();
    const b = vi.fn();
    const unsubscribe = t.on('progress', a);
    t.on('progress', b);
    t.complete('x');
    unsubscribe();
    t.off('progress', b);
    t.complete('y');
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(1);
  });

  it('still applies the change and calls every listener when one throws', () => {
    const { tracker: t } = tracker({ total: 5 });
    const boom = new Error('listener bug');
    const after = vi.fn();
    t.on('complete', () => {
      throw boom;
    });
    t.on('complete', after);
    const progress = vi.fn();
    t.on('progress', progress);
    let caught: unknown;
    try {
      t.complete('x');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ProgressError);
    expect(caught).toMatchObject({
      code: 'LISTENER_FAILED',
      id: 'x',
      source: 'complete',
      cause: boom,
    });
    expect(after).toHaveBeenCalledTimes(1);
    expect(progress).toHaveBeenCalledTimes(1);
    expect(t.getProgress().completed).toBe(1);
  });
});

describe('invariants under any sequence of calls', () => {
  it('keeps remaining = total - completed - failed >= 0 and 0 <= percentage <= 100', () => {
    const op = fc.record({
      kind: fc.constantFrom('start', 'complete', 'fail', 'skip', 'setTotal', 'wait'),
      id: fc.integer({ min: 0, max: 7 }),
      amount: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.array(op, { maxLength: 60 }),
        (total, ops) => {
          const time = manualClock();
          const t = new ProgressTracker({
            total,
            clock: time.clock,
            halfLifeMs: 5_000,
            minSamples: 2,
          });
          const state = new Map<string, string>();
          for (const { kind, id, amount } of ops) {
            const key = `i${id}`;
            const before = state.get(key) ?? 'pending';
            try {
              if (kind === 'wait') time.advance(amount * 100);
              else if (kind === 'setTotal') t.setTotal(amount);
              else {
                t[kind as 'start' | 'complete' | 'fail' | 'skip'](key);
                const after = {
                  start: 'active',
                  complete: 'completed',
                  fail: 'failed',
                  skip: 'skipped',
                }[kind]!;
                state.set(key, after);
              }
            } catch (error) {
              expect(error).toBeInstanceOf(TypeError);
              const final = before === 'completed' || before === 'skipped';
              expect(final).toBe(true);
            }
            const p = t.getProgress();
            const count = (s: string) => [...state.values()].filter((v) => v === s).length;
            expect(p.remaining).toBe(p.total - p.completed - p.failed);
            expect(p.remaining).toBeGreaterThanOrEqual(0);
            expect(p.percentage).toBeGreaterThanOrEqual(0);
            expect(p.percentage).toBeLessThanOrEqual(100);
            expect(p.completed).toBe(count('completed'));
            expect(p.failed).toBe(count('failed'));
            expect(p.active).toBe(count('active'));
            expect(p.skipped).toBe(count('skipped'));
            if (p.etaMs !== null) expect(p.etaMs).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
