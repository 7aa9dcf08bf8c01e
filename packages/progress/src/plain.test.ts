import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { C1, CONTROL, ESC, FakeStream } from '../test/support/fake-stream.ts';
import type { ProgressError } from './errors.ts';
import { createPlainRenderer } from './plain.ts';
import { ProgressTracker } from './tracker.ts';

describe('createPlainRenderer', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 5_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (options: { total?: number; completed?: number } = {}) => {
    const stream = new FakeStream({ isTTY: false });
    const tracker = new ProgressTracker({
      total: options.total ?? 12,
      completed: options.completed ?? 0,
      clock: () => Date.now(),
    });
    return { stream, tracker, lines: () => stream.output.split('\n').slice(0, -1) };
  };

  it('writes a line for every completion and failure, and a summary on stop', () => {
    const { stream, tracker, lines } = setup({ total: 12, completed: 2 });
    const renderer = createPlainRenderer({ stream, tracker });
    for (const [i, id] of ['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3', 'P1.M1.T2.S1'].entries()) {
      tracker.start(id, { title: `Step ${i + 1}` });
      vi.advanceTimersByTime(30_000);
      if (i === 2) tracker.fail(id);
      else tracker.complete(id);
    }
    renderer.stop();
    expect(lines()).toEqual([
      '[2/12 16.7%] waiting',
      '[2/12 16.7%] running P1.M1.T1.S1 Step 1',
      '[3/12 25.0%] completed P1.M1.T1.S1 Step 1 (2.0/min)',
      '[3/12 25.0%] running P1.M1.T1.S2 Step 2 (2.0/min)',
      '[4/12 33.3%] completed P1.M1.T1.S2 Step 2 (2.0/min)',
      '[4/12 33.3%] running P1.M1.T1.S3 Step 3 (2.0/min)',
      '[4/12 33.3%] failed P1.M1.T1.S3 Step 3 (1 failed, 2.0/min, ETA 3m30s)',
      '[4/12 33.3%] running P1.M1.T2.S1 Step 4 (1 failed, 2.0/min, ETA 3m30s)',
      '[5/12 41.7%] completed P1.M1.T2.S1 Step 4 (1 failed, 2.0/min, ETA 3m00s)',
      'Progress: 5/12 complete (41.7%), 1 failed, 6 remaining',
    ]);
  });

  it('writes status lines at most every intervalMs and only when something changed', () => {
    const { stream, tracker, lines } = setup({ total: 100 });
    const renderer = createPlainRenderer({ stream, tracker, intervalMs: 2_000 });
    const at: number[] = [];
    const original = stream.write.bind(stream);
    stream.write = (chunk: string) => {
      at.push(Date.now());
      return original(chunk);
    };
    // Items start every 500 ms without finishing: only the status timer may report them.
    for (let i = 0; i < 20; i += 1) {
      tracker.start(`item${i}`);
      vi.advanceTimersByTime(500);
    }
    const statusTimes = at;
    for (let i = 1; i < statusTimes.length; i += 1) {
      expect(statusTimes[i]! - statusTimes[i - 1]!).toBeGreaterThanOrEqual(2_000);
    }
    expect(statusTimes.length).toBe(5);
    const count = lines().length;
    vi.advanceTimersByTime(60_000);
    expect(lines().length).toBe(count);
    renderer.stop();
  });

  it('never writes a control character or escape sequence, whatever the titles hold', () => {
    const { stream, tracker } = setup({ total: 6 });
    const renderer = createPlainRenderer({ stream, tracker, intervalMs: 1_000 });
    const nasty = [
      '\u001b[31mred\u001b[0m',
      'tab\there',
      'multi\nline\r\nmore',
      'bell\u0007',
      'c1\u009b2J',
      'del\u007f',
    ];
    nasty.forEach((title, i) => {
      tracker.start(`id\u001b${i}`, { title });
      vi.advanceTimersByTime(1_500);
      if (i % 2 === 0) tracker.complete(`id\u001b${i}`);
      else tracker.fail(`id\u001b${i}`);
    });
    renderer.log('log \u001b[2K with \r carriage');
    renderer.stop();
    const output = stream.output;
    expect(output.length).toBeGreaterThan(200);
    expect(output).not.toMatch(CONTROL);
    expect(output).not.toMatch(ESC);
    expect(output).not.toMatch(C1);
    expect(output).not.toMatch(/\t/);
    expect(
      output
        .split('\n')
        .slice(0, -1)
        .every((line) => line.length > 0),
    ).toBe(true);
  });

  it('writes no summary on stop with summary: false, and still logs after stop', () => {
    const { stream, tracker, lines } = setup({ total: 2 });
    const renderer = createPlainRenderer({ stream, tracker, summary: false });
    tracker.complete('P1.M1.T1.S1');
    renderer.stop();
    renderer.log('Interrupted.');
    expect(lines()).toEqual([
      '[0/2 0.0%] waiting',
      '[1/2 50.0%] completed P1.M1.T1.S1',
      'Interrupted.',
    ]);
    expect(() =>
      createPlainRenderer({ stream, tracker, summary: 'no' as unknown as boolean }),
    ).toThrow(TypeError);
  });

  it('stops cleanly: no lines after stop, stop is idempotent', () => {
    const { stream, tracker, lines } = setup();
    const renderer = createPlainRenderer({ stream, tracker });
    renderer.stop();
    renderer.stop();
    tracker.complete('a');
    vi.advanceTimersByTime(60_000);
    renderer.render(true);
    expect(lines()).toEqual([
      '[0/12 0.0%] waiting',
      'Progress: 0/12 complete (0.0%), 0 failed, 12 remaining',
    ]);
  });

  it('reports a failing stream once through onError', () => {
    const { tracker } = setup();
    const errors: ProgressError[] = [];
    let writes = 0;
    const stream = {
      write() {
        writes += 1;
        if (writes > 1) throw new Error('EPIPE');
      },
    };
    const renderer = createPlainRenderer({ stream, tracker, onError: (e) => errors.push(e) });
    tracker.complete('a');
    tracker.complete('b');
    renderer.stop();
    expect(errors.map((e) => [e.code, e.source])).toEqual([['WRITE_FAILED', 'plain']]);
    expect(writes).toBe(2);
  });

  it('rejects a bad interval', () => {
    const { stream, tracker } = setup();
    expect(() => createPlainRenderer({ stream, tracker, intervalMs: -5 })).toThrow(
      /intervalMs to be a number > 0, got -5/,
    );
  });
});

describe('createPlainRenderer with a period longer than a timer holds', () => {
  it('does not tick every millisecond', async () => {
    // setInterval with more than 2 ** 31 - 1 ms fires every millisecond; each tick reads the clock.
    vi.useRealTimers();
    const stream = new FakeStream({ isTTY: false });
    const tracker = new ProgressTracker({ total: 3 });
    let reads = 0;
    const clock = () => {
      reads += 1;
      return Date.now();
    };
    const renderer = createPlainRenderer({ stream, tracker, clock, intervalMs: 3_000_000_000 });
    const before = reads;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads - before).toBe(0);
    renderer.stop();
  });
});
