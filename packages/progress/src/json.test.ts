import { describe, expect, it } from 'vitest';
import { FakeStream } from '../test/support/fake-stream.ts';
import { prefixGroups } from './groups.ts';
import { createJsonRenderer, toJSON } from './json.ts';
import { ProgressTracker } from './tracker.ts';

describe('toJSON', () => {
  it('gives a fixed shape with whole milliseconds', () => {
    let now = 0;
    const tracker = new ProgressTracker({
      total: 4,
      clock: () => now,
      groupOf: prefixGroups({ levels: 1 }),
    });
    expect(toJSON(tracker.getProgress())).toEqual({
      total: 4,
      completed: 0,
      failed: 0,
      skipped: 0,
      active: 0,
      remaining: 4,
      percentage: 0,
      elapsedMs: 0,
      samples: 0,
      msPerItem: null,
      ratePerMinute: 0,
      etaMs: null,
      current: null,
      groups: [],
    });
    for (const id of ['P1.a', 'P1.b', 'P2.a']) {
      tracker.start(id, { title: `t ${id}` });
      now += 1000.4;
      tracker.complete(id);
    }
    tracker.start('P2.b');
    const snapshot = toJSON(tracker.getProgress());
    expect(snapshot).toMatchObject({
      completed: 3,
      elapsedMs: 3001,
      msPerItem: 1000,
      etaMs: 1000,
      current: { id: 'P2.b' },
    });
    expect(snapshot.groups.map((g) => [g.id, g.total, g.completed])).toEqual([
      ['P1', 2, 2],
      ['P2', 2, 1],
    ]);
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
  });
});

describe('createJsonRenderer', () => {
  it('writes one parseable snapshot per change, per render and on stop', () => {
    const stream = new FakeStream();
    const tracker = new ProgressTracker({ total: 3 });
    const renderer = createJsonRenderer({ stream, tracker });
    tracker.start('a', { title: 'quote " and newline \n and escape \u001b' });
    tracker.complete('a');
    renderer.log('hello\nworld');
    renderer.render();
    renderer.stop();
    renderer.stop();
    tracker.complete('b');
    const lines = stream.output.split('\n');
    expect(lines.at(-1)).toBe('');
    const records = lines.slice(0, -1).map((line) => JSON.parse(line));
    expect(records.map((r) => r.message ?? r.completed)).toEqual([0, 0, 1, 'hello\nworld', 1, 1]);
    expect(records[1].current.title).toBe('quote " and newline \n and escape \u001b');
    expect(stream.output).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});
