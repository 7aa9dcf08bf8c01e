import { describe, expect, it } from 'vitest';
import { formatDuration, formatPercentage, formatRate, summary, summaryLine } from './format.ts';

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [499, '0s'],
    [45_000, '45s'],
    [59_499, '59s'],
    [59_600, '1m00s'],
    [65_000, '1m05s'],
    [600_000, '10m00s'],
    [3_599_400, '59m59s'],
    [3_599_600, '1h00m'],
    [7_380_000, '2h03m'],
    [7_409_000, '2h03m'],
    [7_411_000, '2h04m'],
    [86_340_000, '23h59m'],
    [86_399_000, '1d00h'],
    [100_800_000, '1d04h'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('rejects what is not a duration', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5']) {
      expect(() => formatDuration(bad as number)).toThrow(TypeError);
    }
  });
});

describe('formatRate and formatPercentage', () => {
  it('picks a readable unit', () => {
    expect(formatRate(1.2)).toBe('1.2/min');
    expect(formatRate(59.9)).toBe('59.9/min');
    expect(formatRate(150)).toBe('2.5/s');
    expect(formatRate(0.05)).toBe('3.0/h');
    expect(() => formatRate(-1)).toThrow(TypeError);
  });

  it('never shows an unfinished run as 100.0%', () => {
    expect(formatPercentage((40 / 82) * 100)).toBe('48.8%');
    expect(formatPercentage(99.96)).toBe('99.9%');
    expect(formatPercentage(100)).toBe('100.0%');
    expect(formatPercentage(0)).toBe('0.0%');
  });
});

describe('summaryLine and summary', () => {
  const progress = {
    total: 82,
    completed: 40,
    failed: 3,
    remaining: 39,
    percentage: (40 / 82) * 100,
  };

  it('reads as one line for the end of a run', () => {
    expect(summaryLine(progress)).toBe('Progress: 40/82 complete (48.8%), 3 failed, 39 remaining');
    expect(summaryLine({ ...progress, skipped: 2 })).toBe(
      'Progress: 40/82 complete (48.8%), 3 failed, 39 remaining, 2 skipped',
    );
  });

  it('gives the fields the original shutdown log used', () => {
    expect(summary(progress)).toEqual({
      completedTasks: 40,
      pendingTasks: 39,
      totalTasks: 82,
      completionRate: '48.8%',
    });
  });

  it('rejects a value that is not progress', () => {
    expect(() => summaryLine(null as never)).toThrow(/expected a progress object, got null/);
    expect(() => summary({ ...progress, total: '82' } as never)).toThrow(/progress.total/);
  });
});
