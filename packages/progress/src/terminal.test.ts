import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONTROL, FakeStream, SGR } from '../test/support/fake-stream.ts';
import { lastLine, replay } from '../test/support/screen.ts';
import { ProgressError } from './errors.ts';
import { textWidth } from './internal/text.ts';
import { createTerminalRenderer, formatBar } from './terminal.ts';
import { type Progress, ProgressTracker } from './tracker.ts';

function progress(overrides: Partial<Progress> = {}): Progress {
  return {
    total: 12,
    completed: 5,
    failed: 3,
    skipped: 0,
    active: 1,
    remaining: 4,
    percentage: (5 / 12) * 100,
    elapsedMs: 200_000,
    samples: 8,
    msPerItem: 50_000,
    ratePerMinute: 1.2,
    etaMs: 65_000,
    current: { id: 'P1.M2.T1.S3', title: 'Parse the backlog' },
    ...overrides,
  };
}

describe('formatBar', () => {
  it('lays out bar, percentage, counts, failures, rate, ETA and the current item', () => {
    expect(formatBar(progress(), { width: 200, barWidth: 12 })).toBe(
      '[#####-------] 41.7% 5/12 · 3 failed · 1.2/min · ETA 1m05s · P1.M2.T1.S3 Parse the backlog',
    );
  });

  it('leaves out what is unknown or zero, and the ETA once the run is done', () => {
    expect(
      formatBar(progress({ failed: 0, ratePerMinute: 0, etaMs: null, current: undefined }), {
        width: 200,
        barWidth: 10,
      }),
    ).toBe('[####------] 41.7% 5/12');
    expect(
      formatBar(
        progress({
          completed: 12,
          failed: 0,
          remaining: 0,
          percentage: 100,
          etaMs: 0,
          current: undefined,
        }),
        { width: 200, barWidth: 10 },
      ),
    ).toBe('[##########] 100.0% 12/12 · 1.2/min');
  });

  it('shortens the title first, then drops parts in order of importance', () => {
    const p = progress({
      current: { id: 'P1.M2.T1.S3', title: 'A rather long title that cannot fit' },
    });
    const full = formatBar(p, { width: 500 });
    const widths = [textWidth(full), 90, 80, 60, 50, 40, 30, 20, 12, 8, 3, 1];
    const lines = widths.map((width) => formatBar(p, { width }));
    lines.forEach((line, i) => {
      expect(textWidth(line)).toBeLessThanOrEqual(widths[i]!);
    });
    expect(lines).toEqual([
      full,
      '[########------------] 41.7% 5/12 · 3 failed · 1.2/min · ETA 1m05s · P1.M2.T1.S3 A rather…',
      '[########------------] 41.7% 5/12 · 3 failed · 1.2/min · ETA 1m05s · P1.M2.T1.S3',
      '[########------------] 41.7% 5/12 · 3 failed · ETA 1m05s',
      '[#####---------] 41.7% 5/12 · 3 failed · ETA 1m05s',
      '41.7% 5/12 · 3 failed · ETA 1m05s',
      '[##----] 41.7% 5/12 · 3 failed',
      '[##-----] 41.7% 5/12',
      '41.7% 5/12',
      '41.7% 5…',
      '41…',
      '…',
    ]);
  });

  it('fits any width with any title, wide characters and control characters included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 160 }),
        fc.string({ unit: 'grapheme', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.boolean(),
        (width, title, id, completed, color) => {
          const total = completed + 17;
          const line = formatBar(
            progress({
              total,
              completed,
              percentage: (completed / total) * 100,
              current: { id: `${id}x`, title },
            }),
            { width, color },
          );
          expect(textWidth(line)).toBeLessThanOrEqual(width);
          expect(line.replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('keeps the id and the rest when only the title has to give way', () => {
    const p = progress({ current: { id: 'P9.M9.T9.S9', title: 'x'.repeat(300) } });
    const line = formatBar(p, { width: 100 });
    expect(textWidth(line)).toBe(100);
    expect(line).toContain('· 3 failed · 1.2/min · ETA 1m05s · P9.M9.T9.S9 xxx');
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('createTerminalRenderer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (streamOptions: ConstructorParameters<typeof FakeStream>[0] = {}, total = 50) => {
    const stream = new FakeStream({ isTTY: true, columns: 80, ...streamOptions });
    const tracker = new ProgressTracker({ total, clock: () => Date.now() });
    return { stream, tracker };
  };
  const frames = (stream: FakeStream) => stream.writes.filter((w) => w.data.includes('\r'));

  it('draws at most fps frames a second however fast items finish', () => {
    const { stream, tracker } = setup({}, 300);
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    for (let i = 0; i < 200; i += 1) {
      tracker.start(`item${i}`, { title: `title ${i}` });
      vi.advanceTimersByTime(10);
      tracker.complete(`item${i}`);
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(500);
    const times = frames(stream).map((w) => w.at);
    expect(times.length).toBeGreaterThan(20);
    for (let i = 0; i < times.length; i += 1) {
      const inWindow = times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(10);
    }
    // The last frame shows the last state, even though it arrived while throttled.
    expect(lastLine(replay(stream.output, 80))).toMatch(/^\[#+-*\] 66\.7% 200\/300 · \d/);
    bar.stop();
  });

  it('honours a lower fps', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {}, fps: 2 });
    for (let i = 0; i < 40; i += 1) {
      tracker.complete(`item${i}`);
      vi.advanceTimersByTime(100);
    }
    const times = frames(stream).map((w) => w.at);
    for (let i = 1; i < times.length; i += 1)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(500);
    bar.stop();
  });

  it('does not redraw while the text stays the same', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    tracker.start('a', { title: 'waiting on something slow' });
    vi.advanceTimersByTime(200);
    const before = stream.writes.length;
    vi.advanceTimersByTime(10_000);
    expect(stream.writes.length).toBe(before);
    tracker.start('a', { title: 'renamed' });
    vi.advanceTimersByTime(200);
    expect(stream.writes.length).toBe(before + 1);
    bar.stop();
  });

  it('redraws while idle when the ETA moves', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    for (const id of ['a', 'b', 'c']) {
      tracker.start(id);
      vi.advanceTimersByTime(1_000);
      tracker.complete(id);
    }
    vi.advanceTimersByTime(200);
    const before = frames(stream).length;
    vi.advanceTimersByTime(120_000);
    const after = frames(stream);
    expect(after.length).toBeGreaterThan(before + 10);
    expect(after.length).toBeLessThanOrEqual(before + 1_200);
    bar.stop();
  });

  it('stops redrawing once the run is finished', () => {
    const { stream, tracker } = setup({}, 3);
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    for (const id of ['a', 'b', 'c']) {
      tracker.start(id);
      vi.advanceTimersByTime(2_000);
      tracker.complete(id);
    }
    vi.advanceTimersByTime(200);
    const before = stream.writes.length;
    vi.advanceTimersByTime(600_000);
    expect(stream.writes.length).toBe(before);
    bar.stop();
    expect(stream.writes.at(-1)!.data).toBe('\n\u001b[?25h');
    expect(lastLine(replay(stream.output, 80))).toBe(
      '[####################] 100.0% 3/3 · 30.0/min',
    );
  });

  it('keeps every frame within the terminal width, narrow terminals included', () => {
    for (const columns of [20, 40, 60, 80, 132]) {
      const { stream, tracker } = setup({ columns }, 300);
      const bar = createTerminalRenderer({ stream, tracker, env: {} });
      for (let i = 0; i < 30; i += 1) {
        tracker.start(`P${i}.M1.T1.S1`, {
          title: `Implement the ${'very '.repeat(i)}long feature 日本語 🚀`,
        });
        vi.advanceTimersByTime(150);
        if (i % 4 === 0) tracker.fail(`P${i}.M1.T1.S1`);
        else tracker.complete(`P${i}.M1.T1.S1`);
      }
      bar.stop();
      for (const write of frames(stream)) {
        const text = write.data.slice(write.data.lastIndexOf('\r') + 1);
        expect(textWidth(text)).toBeLessThanOrEqual(columns - 1);
      }
      const screen = replay(stream.output, columns);
      expect(screen.wrapped).toBe(false);
      expect(Math.max(...screen.widths)).toBeLessThanOrEqual(columns);
      expect(lastLine(screen)).toMatch(columns >= 40 ? / 22\/300 · 8 failed/ : / 22\/300$/);
    }
  });

  it('falls back to 80 columns when the stream does not know its width', () => {
    const { stream, tracker } = setup({ columns: undefined });
    tracker.start('P1.M1.T1.S1', { title: 'y'.repeat(200) });
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    bar.stop();
    const screen = replay(stream.output, 80);
    expect(screen.wrapped).toBe(false);
    expect(lastLine(screen)).toHaveLength(79);
  });

  it('uses colour only when the stream supports it and NO_COLOR is unset', () => {
    const cases: [
      ConstructorParameters<typeof FakeStream>[0],
      Record<string, string>,
      boolean | undefined,
      boolean,
    ][] = [
      [{ colors: true }, {}, undefined, true],
      [{ colors: true }, { NO_COLOR: '1' }, undefined, false],
      [{ colors: true }, { NO_COLOR: '' }, undefined, true],
      [{ colors: false }, {}, undefined, false],
      [{ isTTY: true }, {}, undefined, true],
      [{ isTTY: false }, {}, undefined, false],
      [{ colors: true }, { NO_COLOR: '1' }, true, true],
      [{ colors: true }, {}, false, false],
    ];
    for (const [streamOptions, env, color, expected] of cases) {
      const { stream, tracker } = setup(streamOptions);
      tracker.fail('x');
      const bar = createTerminalRenderer({ stream, tracker, env, color });
      bar.stop();
      expect(SGR.test(stream.output), JSON.stringify({ streamOptions, env, color })).toBe(expected);
    }
  });

  it('hides the cursor while live, then ends the line and shows it again on stop', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    expect(stream.writes[0]!.data.startsWith('\u001b[?25l')).toBe(true);
    tracker.complete('a');
    vi.advanceTimersByTime(100);
    bar.stop();
    bar.stop();
    expect(stream.output.endsWith('\n\u001b[?25h')).toBe(true);
    const screen = replay(stream.output, 80);
    expect(screen.cursorVisible).toBe(true);
    expect([screen.hides, screen.shows]).toEqual([1, 1]);
    const written = stream.writes.length;
    tracker.complete('b');
    bar.render(true);
    vi.advanceTimersByTime(5_000);
    expect(stream.writes.length).toBe(written);
  });

  it('writes log messages above the bar and redraws it', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    tracker.complete('a');
    bar.log('compiled\u001b[2J 3 files\nsecond line');
    tracker.complete('b');
    bar.stop();
    const screen = replay(stream.output, 80);
    expect(screen.lines.filter((line) => line !== '')).toEqual([
      'compiled [2J 3 files',
      'second line',
      '[--------------------] 4.0% 2/50',
    ]);
  });

  it('reports a failing stream through onError and stops drawing', () => {
    const { tracker } = setup();
    let calls = 0;
    const stream = {
      isTTY: true,
      columns: 80,
      write() {
        calls += 1;
        if (calls > 2) throw new Error('EPIPE');
      },
    };
    const errors: ProgressError[] = [];
    const bar = createTerminalRenderer({
      stream,
      tracker,
      env: {},
      onError: (e) => errors.push(e),
    });
    tracker.complete('a');
    vi.advanceTimersByTime(200);
    tracker.complete('b');
    vi.advanceTimersByTime(200);
    tracker.complete('c');
    vi.advanceTimersByTime(5_000);
    bar.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ProgressError);
    expect(errors[0]).toMatchObject({ code: 'WRITE_FAILED', source: 'terminal' });
    expect((errors[0]!.cause as Error).message).toBe('EPIPE');
    expect(calls).toBe(3);
  });

  it('throws a failing write from a direct call when there is no onError', () => {
    const { tracker } = setup();
    const stream = {
      write() {
        throw new Error('closed');
      },
    };
    expect(() => createTerminalRenderer({ stream, tracker, env: {} })).toThrow(ProgressError);
  });

  it('rejects bad options', () => {
    const { stream, tracker } = setup();
    expect(() => createTerminalRenderer({ stream, tracker, fps: 0 })).toThrow(/fps/);
    expect(() => createTerminalRenderer({ stream, tracker, width: 0 })).toThrow(/width/);
    expect(() => createTerminalRenderer({ stream: {} as never, tracker })).toThrow(/write method/);
    expect(() => createTerminalRenderer({ stream, tracker: {} as never })).toThrow(/getProgress/);
  });

  it('never writes a control character other than CR, LF and escape sequences', () => {
    const { stream, tracker } = setup();
    const bar = createTerminalRenderer({ stream, tracker, env: {} });
    tracker.start('evil\u0007id', { title: 'bell\u0007 tab\t cr\r bs\b c1\u009b2J' });
    vi.advanceTimersByTime(200);
    bar.stop();
    const withoutEscapes = stream.output
      .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
      .replace(/[\r\n]/g, '');
    expect(withoutEscapes).not.toMatch(CONTROL);
    expect(withoutEscapes).not.toMatch(/[\u0080-\u009f]/);
  });
});

describe('createTerminalRenderer with a period longer than a timer holds', () => {
  it('does not tick every millisecond', async () => {
    // setInterval with more than 2 ** 31 - 1 ms fires every millisecond; each tick reads the clock.
    vi.useRealTimers();
    const stream = new FakeStream({ isTTY: true });
    const tracker = new ProgressTracker({ total: 3 });
    let reads = 0;
    const clock = () => {
      reads += 1;
      return Date.now();
    };
    const renderer = createTerminalRenderer({ stream, tracker, clock, env: {}, fps: 1e-7 });
    const before = reads;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads - before).toBe(0);
    renderer.stop();
  });
});
