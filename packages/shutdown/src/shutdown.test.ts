import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeProcess, memoryLogger } from '../test/support/fake-process.ts';
import {
  createShutdown,
  isShutdownError,
  type ShutdownError,
  type ShutdownOptions,
  type ShutdownResult,
} from './index.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const quiet = { logger: {} } satisfies ShutdownOptions;

let proc: FakeProcess;

beforeEach(() => {
  vi.useFakeTimers();
  proc = new FakeProcess();
});

afterEach(() => {
  vi.useRealTimers();
});

/**
 * Lets pending promise callbacks and the scheduled exit run. One millisecond rather than zero:
 * the fake clock does not fire an immediate queued from inside an earlier tick on a zero tick.
 */
const flush = () => vi.advanceTimersByTimeAsync(1);

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function counts(p: FakeProcess) {
  return Object.fromEntries(
    [...SIGNALS, 'uncaughtException', 'unhandledRejection'].map((e) => [e, p.listenerCount(e)]),
  );
}

describe('listening', () => {
  it('adds one listener per default signal and none for errors unless asked', () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    expect(counts(proc)).toEqual({
      SIGINT: 1,
      SIGTERM: 1,
      SIGHUP: 1,
      uncaughtException: 0,
      unhandledRejection: 0,
    });
    shutdown.dispose();
    const withErrors = createShutdown({ ...quiet, process: proc, handleErrors: true });
    expect(proc.listenerCount('uncaughtException')).toBe(1);
    expect(proc.listenerCount('unhandledRejection')).toBe(1);
    withErrors.dispose();
    expect(Object.values(counts(proc)).every((n) => n === 0)).toBe(true);
  });

  it('listens only to the signals given', () => {
    const shutdown = createShutdown({ ...quiet, process: proc, signals: ['SIGUSR2', 'SIGUSR2'] });
    expect(proc.listenerCount('SIGUSR2')).toBe(1);
    expect(proc.listenerCount('SIGINT')).toBe(0);
    shutdown.dispose();
    expect(proc.listenerCount('SIGUSR2')).toBe(0);
  });

  it('leaves listener counts where they started after 1,000 create/dispose cycles', () => {
    const other = () => {};
    proc.on('SIGINT', other);
    const before = counts(proc);
    for (let i = 0; i < 1000; i++) {
      createShutdown({ ...quiet, process: proc, handleErrors: i % 2 === 0 }).dispose();
    }
    expect(counts(proc)).toEqual(before);
    expect(proc.listeners('SIGINT')).toEqual([other]);
  });

  it('shares one listener per event among 1,000 live controllers', () => {
    const all = Array.from({ length: 1000 }, () => createShutdown({ ...quiet, process: proc }));
    expect(counts(proc)).toMatchObject({ SIGINT: 1, SIGTERM: 1, SIGHUP: 1 });
    for (const s of all) s.dispose();
    expect(counts(proc)).toMatchObject({ SIGINT: 0, SIGTERM: 0, SIGHUP: 0 });
  });

  it('calls other listeners of the same signal exactly once per signal', async () => {
    const seen: string[] = [];
    proc.on('SIGTERM', (s: string) => seen.push(`before:${s}`));
    createShutdown({ ...quiet, process: proc });
    proc.on('SIGTERM', (s: string) => seen.push(`after:${s}`));
    proc.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(seen).toEqual(['before:SIGTERM', 'after:SIGTERM']);
    expect(proc.exits).toEqual([143]);
  });

  it('supports Symbol.dispose and is idempotent', () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    shutdown[Symbol.dispose]();
    shutdown.dispose();
    expect(counts(proc)).toMatchObject({ SIGINT: 0, SIGTERM: 0, SIGHUP: 0 });
  });

  it('refuses use after dispose with a DISPOSED error', () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    shutdown.dispose();
    expect(() => shutdown.onShutdown(() => {})).toThrow(
      expect.objectContaining({ name: 'ShutdownError', code: 'DISPOSED' }),
    );
    expect(() => shutdown.onForce(() => {})).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    expect(() => shutdown.trigger()).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
    proc.emit('SIGINT', 'SIGINT');
    expect(shutdown.signal.aborted).toBe(false);
  });
});

describe('a signal', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)(
    '%s aborts the signal, runs the hooks in order and exits %i',
    async (signal, code) => {
      const shutdown = createShutdown({ ...quiet, process: proc });
      const order: string[] = [];
      const first = deferred();
      shutdown.onShutdown(
        async () => {
          order.push('flush:start');
          await first.promise;
          order.push('flush:end');
        },
        { name: 'flush pending updates' },
      );
      shutdown.onShutdown(
        () => {
          order.push('save');
        },
        { name: 'save backlog' },
      );
      shutdown.onShutdown(function logProgress() {
        order.push('log');
      });

      expect(shutdown.isShuttingDown).toBe(false);
      expect(shutdown.exitCode()).toBeUndefined();
      proc.emit(signal, signal);

      expect(shutdown.isShuttingDown).toBe(true);
      expect(shutdown.signal.aborted).toBe(true);
      const reason = shutdown.signal.reason as ShutdownError;
      expect(isShutdownError(reason, 'SIGNAL')).toBe(true);
      expect(reason.signal).toBe(signal);
      expect(reason.message).toContain(signal);
      expect(shutdown.exitCode()).toBe(code);
      expect(proc.exitCode).toBe(code);

      await flush();
      expect(order).toEqual(['flush:start']);
      first.resolve();
      const result = await shutdown.done;
      expect(order).toEqual(['flush:start', 'flush:end', 'save', 'log']);
      expect(result.reason).toEqual({ kind: 'signal', signal, code });
      expect(result.exitCode).toBe(code);
      expect(result.hooks.map((h) => [h.name, h.status])).toEqual([
        ['flush pending updates', 'ok'],
        ['save backlog', 'ok'],
        ['logProgress', 'ok'],
      ]);
      expect(result.timedOut).toBe(false);
      expect(result.forced).toBe(false);
      expect(proc.exits).toEqual([]);
      await flush();
      expect(proc.exits).toEqual([code]);
      expect(proc.exitCode).toBe(code);
    },
  );

  it('gives each hook its context and names anonymous hooks by position', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const seen: unknown[] = [];
    shutdown.onShutdown((ctx) => {
      seen.push([ctx.name, ctx.reason.kind, ctx.signal.aborted]);
    });
    shutdown.onShutdown(
      (ctx) => {
        seen.push([ctx.name, ctx.reason.kind, ctx.signal.aborted]);
      },
      { name: 'named' },
    );
    proc.emit('SIGINT', 'SIGINT');
    await shutdown.done;
    expect(seen).toEqual([
      ['hook 1', 'signal', false],
      ['named', 'signal', false],
    ]);
  });

  it('lets work listening on the signal react before the first hook', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const order: string[] = [];
    shutdown.signal.addEventListener('abort', () => order.push('work stopped'));
    shutdown.onShutdown(() => {
      order.push('hook');
    });
    proc.emit('SIGHUP', 'SIGHUP');
    await shutdown.done;
    expect(order).toEqual(['work stopped', 'hook']);
  });

  it('runs hooks registered while the run is going, after those already queued', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const order: string[] = [];
    shutdown.onShutdown(
      () => {
        order.push('a');
        shutdown.onShutdown(() => {
          order.push('late');
        });
      },
      { name: 'a' },
    );
    shutdown.onShutdown(() => {
      order.push('b');
    });
    proc.emit('SIGINT', 'SIGINT');
    await shutdown.done;
    expect(order).toEqual(['a', 'b', 'late']);
  });

  it('does not run a hook that was unregistered', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const ran: string[] = [];
    const off = shutdown.onShutdown(() => {
      ran.push('removed');
    });
    shutdown.onShutdown(() => {
      ran.push('kept');
    });
    off();
    off();
    proc.emit('SIGINT', 'SIGINT');
    const result = await shutdown.done;
    expect(ran).toEqual(['kept']);
    expect(result.hooks).toHaveLength(1);
  });
});

describe('failures', () => {
  it('isolates hook errors, reports them, and exits 1', async () => {
    const { lines, logger } = memoryLogger();
    const shutdown = createShutdown({ process: proc, logger });
    const ran: string[] = [];
    const boom = new Error('disk full');
    shutdown.onShutdown(
      () => {
        throw boom;
      },
      { name: 'sync throw' },
    );
    shutdown.onShutdown(() => Promise.reject(new Error('rejected')), { name: 'async reject' });
    shutdown.onShutdown(
      () => {
        ran.push('last');
      },
      { name: 'last' },
    );
    proc.emit('SIGTERM', 'SIGTERM');
    // The first hook throws synchronously, so the code is 1 as soon as the signal is handled.
    expect(shutdown.exitCode()).toBe(1);
    const result = await shutdown.done;
    expect(ran).toEqual(['last']);
    expect(result.hooks.map((h) => h.status)).toEqual(['error', 'error', 'ok']);
    const [first, second] = result.hooks;
    expect(first?.error?.code).toBe('HOOK_FAILED');
    expect(first?.error?.hook).toBe('sync throw');
    expect(first?.error?.cause).toBe(boom);
    expect(second?.error?.cause).toEqual(new Error('rejected'));
    expect(result.exitCode).toBe(1);
    expect(shutdown.exitCode()).toBe(1);
    expect(lines.filter((l) => l.level === 'error').map((l) => l.details?.hook)).toEqual([
      'sync throw',
      'async reject',
    ]);
    await flush();
    expect(proc.exits).toEqual([1]);
  });

  it('cuts a hook off at its own timeout, aborts its signal and moves on', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    let hookSignal: AbortSignal | undefined;
    const ran: string[] = [];
    shutdown.onShutdown(
      (ctx) => {
        hookSignal = ctx.signal;
        return new Promise(() => {});
      },
      { name: 'hangs', timeoutMs: 200 },
    );
    shutdown.onShutdown(
      () => {
        ran.push('next');
      },
      { name: 'next' },
    );
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(199);
    expect(hookSignal?.aborted).toBe(false);
    expect(ran).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(hookSignal?.aborted).toBe(true);
    expect(isShutdownError(hookSignal?.reason, 'HOOK_TIMEOUT')).toBe(true);
    const result = await shutdown.done;
    expect(ran).toEqual(['next']);
    expect(result.hooks.map((h) => h.status)).toEqual(['timeout', 'ok']);
    expect(result.hooks[0]?.durationMs).toBe(200);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(1);
    await flush();
    expect(proc.exits).toEqual([1]);
  });

  it('bounds the whole run by timeoutMs, then runs the force hooks and exits 1', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc, timeoutMs: 1000 });
    const forced: unknown[] = [];
    const started: string[] = [];
    for (const name of ['one', 'two', 'three', 'four']) {
      shutdown.onShutdown(
        () => {
          started.push(name);
          return new Promise<void>((resolve) => setTimeout(resolve, 400));
        },
        { name },
      );
    }
    shutdown.onForce((reason, cause) => forced.push([reason.kind, cause]));
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(999);
    expect(started).toEqual(['one', 'two', 'three']);
    expect(proc.exits).toEqual([]);
    expect(forced).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const result = await shutdown.done;
    expect(forced).toEqual([['signal', 'deadline']]);
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(1);
    expect(result.hooks.map((h) => h.status)).toEqual(['ok', 'ok', 'timeout', 'skipped']);
    expect(result.hooks[2]?.error?.code).toBe('DEADLINE');
    await flush();
    expect(proc.exits).toEqual([1]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(started).toEqual(['one', 'two', 'three']);
    expect(proc.exits).toEqual([1]);
  });

  it('keeps going when a logger or a force hook throws', async () => {
    const angry = () => {
      throw new Error('logger broke');
    };
    const shutdown = createShutdown({
      process: proc,
      timeoutMs: 10,
      logger: { debug: angry, info: angry, warn: angry, error: angry },
    });
    const after: string[] = [];
    shutdown.onShutdown(() => new Promise(() => {}));
    shutdown.onForce(() => {
      throw new Error('force hook broke');
    });
    shutdown.onForce(() => after.push('second force hook'));
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(10);
    await flush();
    expect(after).toEqual(['second force hook']);
    expect(proc.exits).toEqual([1]);
  });
});

describe('a second signal', () => {
  it('runs the force hooks and exits at once with the first signal’s code', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const events: string[] = [];
    let slowSignal: AbortSignal | undefined;
    shutdown.onShutdown(() => {
      events.push('quick');
    });
    shutdown.onShutdown(
      (ctx) => {
        slowSignal = ctx.signal;
        events.push('slow:start');
        return new Promise((resolve) => setTimeout(resolve, 5000));
      },
      { name: 'slow' },
    );
    shutdown.onShutdown(() => {
      events.push('never');
    });
    shutdown.onForce(() => events.push('force:1'));
    shutdown.onForce(() => events.push('force:2'));

    proc.emit('SIGINT', 'SIGINT');
    // Past the forwarded-signal window, so the next signal is a person's second one.
    await vi.advanceTimersByTimeAsync(600);
    expect(events).toEqual(['quick', 'slow:start']);
    proc.emit('SIGTERM', 'SIGTERM');
    expect(events).toEqual(['quick', 'slow:start', 'force:1', 'force:2']);
    expect(proc.exits).toEqual([130]);
    expect(slowSignal?.aborted).toBe(true);
    const reason = slowSignal?.reason as ShutdownError;
    expect(reason.code).toBe('FORCED');
    expect(reason.signal).toBe('SIGTERM');
    const result = await shutdown.done;
    expect(result.forced).toBe(true);
    expect(result.exitCode).toBe(130);
    expect(result.hooks.map((h) => h.status)).toEqual(['ok', 'interrupted', 'skipped']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events).not.toContain('never');
    expect(proc.exits).toEqual([130]);
  });

  it('is logged and ignored with forceExitOnSecondSignal: false', async () => {
    const { lines, logger } = memoryLogger();
    const shutdown = createShutdown({ process: proc, logger, forceExitOnSecondSignal: false });
    const forced: string[] = [];
    shutdown.onShutdown(() => new Promise((resolve) => setTimeout(resolve, 1000)));
    shutdown.onForce(() => forced.push('force'));
    proc.emit('SIGHUP', 'SIGHUP');
    await vi.advanceTimersByTimeAsync(600);
    proc.emit('SIGHUP', 'SIGHUP');
    expect(proc.exits).toEqual([]);
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('SIGHUP again'))).toBe(true);
    await vi.advanceTimersByTimeAsync(400);
    await flush();
    expect(forced).toEqual([]);
    expect(proc.exits).toEqual([129]);
  });

  it('forces with the new signal’s code when trigger() started the run', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    shutdown.onShutdown(() => new Promise(() => {}));
    void shutdown.trigger('limit reached');
    proc.emit('SIGTERM', 'SIGTERM');
    expect(proc.exits).toEqual([143]);
  });
});

describe('signals passed on by a parent process', () => {
  it('takes any signal within forwardedSignalWindowMs of the first as the same request', async () => {
    const { lines, logger } = memoryLogger();
    const shutdown = createShutdown({ process: proc, logger });
    const forced: string[] = [];
    shutdown.onShutdown(() => new Promise((resolve) => setTimeout(resolve, 2000)), {
      name: 'save',
    });
    shutdown.onForce(() => forced.push('force'));

    // The terminal's SIGINT, then what pnpm (SIGTERM), npm (SIGINT) and a closing terminal
    // (SIGHUP) send on: all inside the default 500 ms.
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(1);
    proc.emit('SIGTERM', 'SIGTERM');
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(400);
    proc.emit('SIGHUP', 'SIGHUP');

    expect(forced).toEqual([]);
    expect(proc.exits).toEqual([]);
    const same = lines.filter((l) => l.message.includes('same request'));
    expect(same.map((l) => [l.level, l.details?.signal, l.details?.first])).toEqual([
      ['info', 'SIGTERM', 'SIGINT'],
      ['info', 'SIGINT', 'SIGINT'],
      ['info', 'SIGHUP', 'SIGINT'],
    ]);
    expect(same[0]?.message).toBe(
      'shutdown: received SIGTERM 1 ms after SIGINT; taken as the same request passed on by a parent process or the terminal, not as a second signal.',
    );
    await vi.advanceTimersByTimeAsync(2000);
    const result = await shutdown.done;
    await flush();
    expect(result).toMatchObject({ forced: false, exitCode: 130 });
    expect(result.hooks.map((h) => h.status)).toEqual(['ok']);
    expect(proc.exits).toEqual([130]);
  });

  it('measures the window from the first signal, so a later signal still forces', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const forced: string[] = [];
    shutdown.onShutdown(() => new Promise(() => {}));
    shutdown.onForce(() => forced.push('force'));
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(400);
    proc.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(150);
    expect(forced).toEqual([]);
    proc.emit('SIGINT', 'SIGINT');
    expect(forced).toEqual(['force']);
    expect(proc.exits).toEqual([130]);
  });

  it('takes its length from the option; 0 makes every further signal a second signal', async () => {
    const wide = createShutdown({ ...quiet, process: proc, forwardedSignalWindowMs: 2000 });
    const forced: string[] = [];
    wide.onShutdown(() => new Promise(() => {}));
    wide.onForce(() => forced.push('wide'));
    proc.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(1500);
    proc.emit('SIGTERM', 'SIGTERM');
    expect(forced).toEqual([]);
    await vi.advanceTimersByTimeAsync(600);
    proc.emit('SIGTERM', 'SIGTERM');
    expect(forced).toEqual(['wide']);
    expect(proc.exits).toEqual([143]);

    const other = new FakeProcess();
    const none = createShutdown({ ...quiet, process: other, forwardedSignalWindowMs: 0 });
    none.onShutdown(() => new Promise(() => {}));
    none.onForce(() => forced.push('none'));
    other.emit('SIGINT', 'SIGINT');
    other.emit('SIGTERM', 'SIGTERM');
    expect(forced).toEqual(['wide', 'none']);
    expect(other.exits).toEqual([130]);
  });
});

describe('the default logger', () => {
  it('prints sentences, never objects, and the stack of an uncaught error', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const shutdown = createShutdown({ process: proc, handleErrors: true });
      shutdown.onShutdown(
        () => {
          throw new Error('disk full');
        },
        { name: 'save backlog' },
      );
      shutdown.onShutdown(() => new Promise(() => {}), { name: 'stop the worker', timeoutMs: 50 });
      shutdown.onShutdown(() => new Promise(() => {}), { name: 'print the summary' });
      proc.emit('SIGINT', 'SIGINT');
      await vi.advanceTimersByTimeAsync(700);
      proc.emit('SIGTERM', 'SIGTERM');
      const calls = [...warn.mock.calls, ...error.mock.calls];
      expect(calls.every((args) => args.length === 1 && typeof args[0] === 'string')).toBe(true);
      expect(error.mock.calls.map((args) => args[0])).toEqual([
        'shutdown: hook "save backlog" failed: disk full.',
        'shutdown: hook "stop the worker" did not finish within 50 ms.',
      ]);
      expect(warn.mock.calls.map((args) => args[0])).toEqual([
        'shutdown: received SIGTERM again; forcing the exit with code 130 without waiting for the remaining shutdown hooks.',
      ]);

      const other = new FakeProcess();
      createShutdown({ process: other, handleErrors: true });
      other.emit('uncaughtException', new TypeError('x is not a function'));
      const printed = String(error.mock.calls.at(-1)?.[0]);
      expect(printed).toMatch(
        /^shutdown: uncaught exception \(x is not a function\); running the shutdown hooks, then exiting with code 1\.\nTypeError: x is not a function\n {4}at /,
      );
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });
});

describe('trigger()', () => {
  it('runs the hooks and exits 0', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    const ran: string[] = [];
    shutdown.onShutdown(() => {
      ran.push('hook');
    });
    const pending = shutdown.trigger('budget spent');
    expect(shutdown.signal.aborted).toBe(true);
    expect(isShutdownError(shutdown.signal.reason, 'TRIGGERED')).toBe(true);
    expect((shutdown.signal.reason as Error).message).toContain('budget spent');
    const result = await pending;
    expect(result).toBe(await shutdown.done);
    expect(result.reason).toEqual({ kind: 'trigger', reason: 'budget spent', code: 0 });
    expect(ran).toEqual(['hook']);
    await flush();
    expect(proc.exits).toEqual([0]);
  });

  it('takes an exit code, and a hook failure still gives 1', async () => {
    const withCode = createShutdown({ ...quiet, process: proc });
    const fatal = new Error('out of memory');
    const result = await withCode.trigger(fatal, { exitCode: 3 });
    expect(result.exitCode).toBe(3);
    expect((withCode.signal.reason as Error).cause).toBe(fatal);

    const other = new FakeProcess();
    const failing = createShutdown({ ...quiet, process: other });
    failing.onShutdown(() => {
      throw new Error('nope');
    });
    expect((await failing.trigger(undefined, { exitCode: 3 })).exitCode).toBe(1);
  });

  it('returns the running shutdown when one has started', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    proc.emit('SIGINT', 'SIGINT');
    const again = shutdown.trigger('late');
    expect(again).toBe(shutdown.done);
    expect((await again).reason.kind).toBe('signal');
  });

  it('settles done without exiting when exit is false, and stops listening', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc, exit: false });
    const result: ShutdownResult = await shutdown.trigger();
    expect(result.exitCode).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(proc.exits).toEqual([]);
    expect(proc.exitCode).toBeUndefined();
    expect(counts(proc)).toMatchObject({ SIGINT: 0, SIGTERM: 0, SIGHUP: 0 });
  });

  it('warns when a hook is registered after the run finished', async () => {
    const { lines, logger } = memoryLogger();
    const shutdown = createShutdown({ process: proc, logger, exit: false });
    await shutdown.trigger();
    const off = shutdown.onShutdown(() => {}, { name: 'too late' });
    off();
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('too late'))).toBe(true);
  });
});

describe('handleErrors', () => {
  it.each(['uncaughtException', 'unhandledRejection'] as const)(
    'turns %s into a shutdown that exits 1',
    async (event) => {
      const { lines, logger } = memoryLogger();
      const shutdown = createShutdown({ process: proc, logger, handleErrors: true });
      const ran: string[] = [];
      shutdown.onShutdown(() => {
        ran.push('hook');
      });
      const error = new Error('boom');
      proc.emit(event, error);
      expect(isShutdownError(shutdown.signal.reason, 'UNCAUGHT')).toBe(true);
      expect((shutdown.signal.reason as Error).cause).toBe(error);
      const result = await shutdown.done;
      expect(result.reason).toEqual({ kind: 'error', error, origin: event, code: 1 });
      expect(ran).toEqual(['hook']);
      expect(lines.some((l) => l.level === 'error' && l.details?.error === error)).toBe(true);
      await flush();
      expect(proc.exits).toEqual([1]);
    },
  );

  it('makes the exit code 1 when an error arrives during a signal shutdown', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc, handleErrors: true });
    const gate = deferred();
    shutdown.onShutdown(() => gate.promise);
    proc.emit('SIGINT', 'SIGINT');
    proc.emit('uncaughtException', new Error('late'));
    expect(shutdown.exitCode()).toBe(1);
    gate.resolve();
    await shutdown.done;
    await flush();
    expect(proc.exits).toEqual([1]);
  });
});

describe('two controllers on one process', () => {
  it('both run their hooks on a signal and the process exits once, after both', async () => {
    const a = createShutdown({ ...quiet, process: proc });
    const b = createShutdown({ ...quiet, process: proc });
    const order: string[] = [];
    a.onShutdown(() => new Promise<void>((r) => setTimeout(r, 100)).then(() => order.push('a')));
    b.onShutdown(() => new Promise<void>((r) => setTimeout(r, 300)).then(() => order.push('b')));
    proc.emit('SIGTERM', 'SIGTERM');
    await vi.advanceTimersByTimeAsync(150);
    expect(order).toEqual(['a']);
    expect(proc.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(150);
    await flush();
    expect(order).toEqual(['a', 'b']);
    expect(proc.exits).toEqual([143]);
    expect((await a.done).exitCode).toBe(143);
    expect((await b.done).exitCode).toBe(143);
  });

  it('exits 1 when either controller’s hooks failed', async () => {
    const a = createShutdown({ ...quiet, process: proc });
    const b = createShutdown({ ...quiet, process: proc, exit: false });
    b.onShutdown(() => {
      throw new Error('b failed');
    });
    proc.emit('SIGINT', 'SIGINT');
    await a.done;
    await b.done;
    await flush();
    expect(proc.exits).toEqual([1]);
  });

  it('starts idle controllers when one with exit: true is triggered', async () => {
    const a = createShutdown({ ...quiet, process: proc, signals: [] });
    const b = createShutdown({ ...quiet, process: proc, exit: false });
    const ran: string[] = [];
    b.onShutdown(() => {
      ran.push('b');
    });
    await a.trigger('fatal', { exitCode: 2 });
    expect(b.isShuttingDown).toBe(true);
    expect((await b.done).reason).toEqual({ kind: 'trigger', reason: 'fatal', code: 2 });
    await flush();
    expect(ran).toEqual(['b']);
    expect(proc.exits).toEqual([2]);
  });

  it('keeps a trigger on an exit: false controller to itself', async () => {
    const a = createShutdown({ ...quiet, process: proc });
    const b = createShutdown({ ...quiet, process: proc, exit: false });
    await b.trigger();
    await flush();
    expect(a.isShuttingDown).toBe(false);
    expect(proc.exits).toEqual([]);
    expect(proc.listenerCount('SIGINT')).toBe(1);
    proc.emit('SIGINT', 'SIGINT');
    await a.done;
    await flush();
    expect(proc.exits).toEqual([130]);
  });

  it('forces both on a second signal and exits once, at once', async () => {
    const a = createShutdown({ ...quiet, process: proc });
    const b = createShutdown({ ...quiet, process: proc });
    const forced: string[] = [];
    a.onShutdown(() => new Promise(() => {}));
    b.onShutdown(() => new Promise(() => {}));
    a.onForce(() => forced.push('a'));
    b.onForce(() => forced.push('b'));
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(600);
    expect(forced).toEqual([]);
    proc.emit('SIGINT', 'SIGINT');
    expect(forced.sort()).toEqual(['a', 'b']);
    expect(proc.exits).toEqual([130]);
    expect((await b.done).forced).toBe(true);
  });

  it('forces the exit on a second signal while a finished controller waits for another', async () => {
    const a = createShutdown({ ...quiet, process: proc });
    const b = createShutdown({ ...quiet, process: proc, signals: ['SIGTERM'] });
    const forced: string[] = [];
    b.onShutdown(() => new Promise(() => {}));
    b.onForce(() => forced.push('b'));
    proc.emit('SIGTERM', 'SIGTERM');
    await a.done;
    await vi.advanceTimersByTimeAsync(600);
    expect(proc.exits).toEqual([]);
    proc.emit('SIGINT', 'SIGINT');
    expect(forced).toEqual(['b']);
    expect(proc.exits).toEqual([143]);
  });

  it('does not count one signal twice when it starts several controllers', async () => {
    const all = Array.from({ length: 5 }, () => createShutdown({ ...quiet, process: proc }));
    const forced: number[] = [];
    all.forEach((s, i) => {
      s.onShutdown(() => new Promise<void>((r) => setTimeout(r, 10)));
      s.onForce(() => forced.push(i));
    });
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(10);
    const results = await Promise.all(all.map((s) => s.done));
    await flush();
    expect(forced).toEqual([]);
    expect(results.every((r) => !r.forced && r.exitCode === 130)).toBe(true);
    expect(proc.exits).toEqual([130]);
  });
});

describe('misuse', () => {
  it.each([
    [{ signals: ['SIGNOPE'] }, /signal names/],
    [{ signals: ['SIGKILL'] }, /catch/],
    [{ signals: 'SIGINT' }, /array/],
    [{ timeoutMs: -1 }, /milliseconds/],
    [{ timeoutMs: Number.NaN }, /milliseconds/],
    [{ forwardedSignalWindowMs: -1 }, /forwardedSignalWindowMs to be a number of milliseconds/],
    [{ exit: 'yes' }, /boolean/],
    [{ logger: 'console' }, /logger/],
    [{ process: {} }, /on, off and exit/],
  ])('createShutdown(%o) throws a TypeError', (options, message) => {
    expect(() => createShutdown(options as ShutdownOptions)).toThrow(TypeError);
    expect(() => createShutdown(options as ShutdownOptions)).toThrow(message);
    expect(counts(proc)).toMatchObject({ SIGINT: 0 });
  });

  it('rejects bad hooks and trigger arguments', () => {
    const shutdown = createShutdown({ ...quiet, process: proc });
    expect(() => shutdown.onShutdown('flush' as never)).toThrow(/expected a function, got "flush"/);
    expect(() => shutdown.onShutdown(() => {}, { timeoutMs: -5 })).toThrow(TypeError);
    expect(() => shutdown.onShutdown(() => {}, { name: 3 as never })).toThrow(TypeError);
    expect(() => shutdown.onForce(null as never)).toThrow(TypeError);
    expect(() => shutdown.trigger(42 as never)).toThrow(/string or an Error/);
    expect(() => shutdown.trigger('x', { exitCode: 256 })).toThrow(/0 to 255/);
    expect(shutdown.isShuttingDown).toBe(false);
  });

  it('treats Infinity as no deadline', async () => {
    const shutdown = createShutdown({ ...quiet, process: proc, timeoutMs: Infinity });
    const gate = deferred();
    shutdown.onShutdown(() => gate.promise);
    proc.emit('SIGINT', 'SIGINT');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(proc.exits).toEqual([]);
    gate.resolve();
    await shutdown.done;
    await flush();
    expect(proc.exits).toEqual([130]);
  });
});
