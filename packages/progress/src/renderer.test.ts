import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeStream } from '../test/support/fake-stream.ts';
import { createJsonRenderer } from './json.ts';
import { createPlainRenderer } from './plain.ts';
import { createRenderer, detectRendererKind } from './renderer.ts';
import { createTerminalRenderer } from './terminal.ts';
import { ProgressTracker } from './tracker.ts';

describe('detectRendererKind', () => {
  it.each([
    [true, {}, 'terminal'],
    [true, { TERM: 'xterm-256color' }, 'terminal'],
    [false, {}, 'plain'],
    [true, { CI: 'true' }, 'plain'],
    [true, { CI: '1' }, 'plain'],
    [true, { CI: 'false' }, 'terminal'],
    [true, { CI: '0' }, 'terminal'],
    [true, { CI: '' }, 'terminal'],
    [true, { TERM: 'dumb' }, 'plain'],
  ] as const)('isTTY %s with %j is %s', (isTTY, env, kind) => {
    expect(detectRendererKind(new FakeStream({ isTTY }), env)).toBe(kind);
  });
});

describe('createRenderer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('picks the renderer the mode and stream call for', () => {
    const tracker = new ProgressTracker({ total: 3 });
    const tty = () => new FakeStream({ isTTY: true, columns: 80 });
    const pipe = () => new FakeStream({ isTTY: false });
    const kinds = [
      createRenderer({ stream: tty(), tracker, env: {} }),
      createRenderer({ stream: tty(), tracker, env: { CI: 'true' } }),
      createRenderer({ stream: pipe(), tracker, env: {} }),
      createRenderer({ stream: pipe(), tracker, env: {}, mode: 'always' }),
      createRenderer({ stream: tty(), tracker, env: {}, mode: 'never' }),
    ];
    expect(kinds.map((r) => r.kind)).toEqual(['terminal', 'plain', 'plain', 'terminal', 'none']);
    for (const renderer of kinds) renderer.stop();
    expect(() => createRenderer({ stream: tty(), tracker, mode: 'sometimes' as 'auto' })).toThrow(
      /expected mode auto, always or never, got "sometimes"/,
    );
  });

  it("mode 'never' writes nothing, not even on stop, but still logs messages", () => {
    const stream = new FakeStream({ isTTY: true });
    const tracker = new ProgressTracker({ total: 3 });
    const renderer = createRenderer({ stream, tracker, mode: 'never' });
    tracker.complete('a');
    renderer.render(true);
    renderer.stop();
    expect(stream.output).toBe('');
    renderer.log('note\u0007');
    expect(stream.output).toBe('note \n');
  });

  it('adds no signal, exit or stream listeners, and leaves none behind', () => {
    const events = [
      'SIGINT',
      'SIGTERM',
      'SIGHUP',
      'SIGWINCH',
      'exit',
      'beforeExit',
      'uncaughtException',
    ] as const;
    const counts = () => events.map((event) => process.listenerCount(event));
    const before = counts();
    const tracker = new ProgressTracker({ total: 3 });
    const renderers = [
      createTerminalRenderer({ stream: new FakeStream({ isTTY: true }), tracker, env: {} }),
      createPlainRenderer({ stream: new FakeStream(), tracker }),
      createJsonRenderer({ stream: new FakeStream(), tracker }),
      createRenderer({ stream: new FakeStream({ isTTY: true }), tracker, env: {} }),
    ];
    tracker.complete('a');
    expect(counts()).toEqual(before);
    for (const renderer of renderers) renderer.stop();
    expect(counts()).toEqual(before);
  });

  it('unsubscribes from the tracker and clears its timer on stop', () => {
    vi.useFakeTimers();
    const tracker = new ProgressTracker({ total: 3 });
    const subscriptions = { count: 0 };
    const on = tracker.on.bind(tracker);
    tracker.on = ((event, listener) => {
      subscriptions.count += 1;
      const off = on(event, listener);
      return () => {
        subscriptions.count -= 1;
        off();
      };
    }) as typeof tracker.on;
    const renderers = [
      createTerminalRenderer({ stream: new FakeStream({ isTTY: true }), tracker, env: {} }),
      createPlainRenderer({ stream: new FakeStream(), tracker }),
      createJsonRenderer({ stream: new FakeStream(), tracker }),
    ];
    expect(subscriptions.count).toBeGreaterThan(0);
    expect(vi.getTimerCount()).toBe(2);
    for (const renderer of renderers) renderer.stop();
    expect(subscriptions.count).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
