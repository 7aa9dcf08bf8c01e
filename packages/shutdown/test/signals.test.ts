import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFresh, type FreshBuild } from './support/build.ts';
import { type FixtureEvent, killFixtures, startFixture } from './support/fixture.ts';

// Real processes, real signals. Every test waits for the fixture's own events ("ready", a hook
// starting) before it signals. The only time bounds are upper bounds where promptness is the
// point, and they are generous: the machine running the suite may be shared and fully busy, and
// what matters is "well below the 30 s hooks these fixtures would otherwise sit in", not
// milliseconds. Lower bounds (a hook's own timeout, the overall deadline) cannot fail because a
// machine is slow: a busy machine only makes things later.
const PROMPTLY_MS = 10_000;

const RECIPE = [
  { name: 'flush pending updates', ms: 60 },
  { name: 'save backlog', ms: 60 },
  { name: 'log progress summary', ms: 10 },
];

let build: FreshBuild;

beforeAll(async () => {
  build = await buildFresh();
});

afterAll(async () => {
  await build?.remove();
});

afterEach(() => {
  killFixtures();
});

const of = (name: string) => (e: FixtureEvent) => e.event === name;
const hookEvents = (events: FixtureEvent[]) =>
  events
    .filter((e) => e.event === 'hook-start' || e.event === 'hook-end' || e.event === 'force')
    .map((e) => `${e.event}:${e.hook}`);

describe.skipIf(process.platform === 'win32')('real signals', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s runs the hooks in registration order and exits %i', async (signal, code) => {
    const fixture = startFixture(build, 'scenario.mjs', {
      controllers: [{ hooks: RECIPE, forceHooks: ['sync flush'] }],
    });
    await fixture.waitFor(of('ready'));
    const sentAt = fixture.send(signal);
    const exit = await fixture.exited;

    expect(exit.code).toBe(code);
    expect(hookEvents(fixture.events)).toEqual([
      'hook-start:flush pending updates',
      'hook-end:flush pending updates',
      'hook-start:save backlog',
      'hook-end:save backlog',
      'hook-start:log progress summary',
      'hook-end:log progress summary',
    ]);
    const aborted = fixture.events.find(of('aborted'));
    expect(aborted).toMatchObject({ code: 'SIGNAL', signal, message: `Received ${signal}` });
    expect(fixture.events.find(of('done'))).toMatchObject({ exitCode: code, forced: false });
    expect(exit.at - sentAt).toBeLessThan(PROMPTLY_MS);
  });

  it('cuts a hanging hook off at its timeout, runs the next one and exits 1', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      controllers: [
        {
          hooks: [
            { name: 'flush pending updates', hang: true, timeoutMs: 400 },
            { name: 'save backlog', ms: 10 },
          ],
          forceHooks: ['sync flush'],
        },
      ],
    });
    await fixture.waitFor(of('ready'));
    const sentAt = fixture.send('SIGTERM');
    const exit = await fixture.exited;
    const elapsed = exit.at - sentAt;

    expect(exit.code).toBe(1);
    expect(hookEvents(fixture.events)).toEqual([
      'hook-start:flush pending updates',
      'hook-start:save backlog',
      'hook-end:save backlog',
    ]);
    expect(fixture.events.find(of('done'))).toMatchObject({
      exitCode: 1,
      timedOut: false,
      hooks: [
        ['flush pending updates', 'timeout'],
        ['save backlog', 'ok'],
      ],
    });
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
  });

  it('stops at the overall deadline, runs the force hooks and exits 1', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      controllers: [
        {
          options: { timeoutMs: 700 },
          hooks: [
            { name: 'flush pending updates', ms: 200 },
            { name: 'save backlog', ms: 30_000, ignoreAbort: true },
            { name: 'log progress summary', ms: 10 },
          ],
          forceHooks: ['sync flush'],
        },
      ],
    });
    await fixture.waitFor(of('ready'));
    const sentAt = fixture.send('SIGINT');
    const exit = await fixture.exited;
    const elapsed = exit.at - sentAt;

    expect(exit.code).toBe(1);
    expect(hookEvents(fixture.events)).toEqual([
      'hook-start:flush pending updates',
      'hook-end:flush pending updates',
      'hook-start:save backlog',
      'force:sync flush',
    ]);
    expect(fixture.events.find(of('force'))).toMatchObject({ cause: 'deadline', kind: 'signal' });
    expect(fixture.events.find(of('done'))).toMatchObject({ exitCode: 1, timedOut: true });
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(PROMPTLY_MS);
  });

  it.each([
    ['SIGINT', 'SIGINT', 130],
    ['SIGINT', 'SIGTERM', 130],
    ['SIGTERM', 'SIGHUP', 143],
  ] as const)(
    'a second signal (%s then %s) during a slow hook runs the force hooks and exits %i at once',
    async (first, second, code) => {
      const fixture = startFixture(build, 'scenario.mjs', {
        controllers: [
          {
            hooks: [
              // Longer than the 500 ms forwarded-signal window: by the time "save backlog"
              // starts, a further signal is a person's second one.
              { name: 'flush pending updates', ms: 600 },
              { name: 'save backlog', ms: 30_000, ignoreAbort: true },
              { name: 'log progress summary', ms: 10 },
            ],
            forceHooks: ['sync flush', 'close log'],
          },
        ],
      });
      await fixture.waitFor(of('ready'));
      fixture.send(first);
      await fixture.waitFor((e) => e.event === 'hook-start' && e.hook === 'save backlog');
      const secondAt = fixture.send(second);
      const exit = await fixture.exited;

      expect(exit.code).toBe(code);
      // "At once": the hook it interrupts would run for 30 s.
      expect(exit.at - secondAt).toBeLessThan(PROMPTLY_MS);
      expect(hookEvents(fixture.events)).toEqual([
        'hook-start:flush pending updates',
        'hook-end:flush pending updates',
        'hook-start:save backlog',
        'force:sync flush',
        'force:close log',
      ]);
      expect(fixture.events.filter(of('force')).every((e) => e.cause === 'signal')).toBe(true);
    },
  );

  it.each([
    ['SIGINT', ['SIGTERM'], 130, 'as pnpm exec sends'],
    ['SIGINT', ['SIGINT'], 130, 'as npm exec sends'],
    ['SIGINT', ['SIGTERM', 'SIGHUP'], 130, 'pnpm exits, its terminal hangs up'],
    ['SIGTERM', ['SIGINT'], 130, "pnpm's SIGTERM handled before the terminal's SIGINT"],
    ['SIGTERM', ['SIGTERM', 'SIGINT'], 130, 'a Ctrl-C passed on twice: the exit code is its'],
    ['SIGTERM', ['SIGTERM'], 143, 'a supervisor and a wrapper pass SIGTERM on'],
  ] as const)(
    '%s followed at once by %j is one request: every hook runs, exit %i (%s)',
    async (first, burst, code, _why) => {
      const fixture = startFixture(build, 'scenario.mjs', {
        controllers: [
          {
            // What is tested is the rule, not the default length (unit-tested): a wide window
            // keeps a slow machine's scheduling out of it.
            options: { forwardedSignalWindowMs: 5000 },
            hooks: RECIPE,
            forceHooks: ['sync flush'],
          },
        ],
      });
      await fixture.waitFor(of('ready'));
      fixture.send(first);
      // As a parent does: it passes the signal on once the first one is being handled.
      await fixture.waitFor(of('aborted'));
      for (const signal of burst) fixture.send(signal);
      const exit = await fixture.exited;

      expect(exit.code).toBe(code);
      expect(hookEvents(fixture.events)).toEqual([
        'hook-start:flush pending updates',
        'hook-end:flush pending updates',
        'hook-start:save backlog',
        'hook-end:save backlog',
        'hook-start:log progress summary',
        'hook-end:log progress summary',
      ]);
      expect(fixture.events.find(of('done'))).toMatchObject({ exitCode: code, forced: false });
      // Signals sent back to back may merge into one delivery; each one that arrives on its own
      // is reported as part of the same request, never as a second signal.
      const same = fixture.events.filter(
        (e) => e.event === 'log' && String(e.message).includes('same request'),
      );
      expect(same.length).toBeLessThanOrEqual(burst.length);
      expect(same.every((e) => e.level === 'info')).toBe(true);
      expect(fixture.events.some((e) => e.event === 'log' && e.level === 'warn')).toBe(false);
    },
  );

  it('with forwardedSignalWindowMs: 0, a signal right after the first forces the exit', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      controllers: [
        {
          options: { forwardedSignalWindowMs: 0 },
          hooks: [{ name: 'save backlog', ms: 30_000, ignoreAbort: true }],
          forceHooks: ['sync flush'],
        },
      ],
    });
    await fixture.waitFor(of('ready'));
    fixture.send('SIGINT');
    await fixture.waitFor((e) => e.event === 'hook-start');
    fixture.send('SIGTERM');
    const exit = await fixture.exited;
    expect(exit.code).toBe(130);
    expect(hookEvents(fixture.events)).toEqual(['hook-start:save backlog', 'force:sync flush']);
  });

  it('keeps the application’s own SIGINT listener working, called once per signal', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      otherListener: 'SIGINT',
      controllers: [{ hooks: RECIPE }],
    });
    await fixture.waitFor(of('ready'));
    fixture.send('SIGINT');
    const exit = await fixture.exited;
    expect(exit.code).toBe(130);
    expect(fixture.events.filter(of('other-listener'))).toHaveLength(1);
    expect(fixture.events.filter((e) => e.event === 'hook-end')).toHaveLength(3);
  });

  it('works the same from the CommonJS build', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      format: 'cjs',
      controllers: [{ hooks: RECIPE }],
    });
    await fixture.waitFor(of('ready'));
    fixture.send('SIGTERM');
    const exit = await fixture.exited;
    expect(exit.code).toBe(143);
    expect(hookEvents(fixture.events)).toHaveLength(6);
  });

  it('runs the hooks of two controllers and exits once, after the slower one', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      controllers: [
        { label: 'session', hooks: [{ name: 'flush pending updates', ms: 50 }] },
        { label: 'progress', hooks: [{ name: 'log progress summary', ms: 500 }] },
      ],
    });
    await fixture.waitFor(of('ready'));
    const sentAt = fixture.send('SIGHUP');
    const exit = await fixture.exited;
    expect(exit.code).toBe(129);
    const ends = fixture.events.filter((e) => e.event === 'hook-end').map((e) => e.label);
    expect(ends).toEqual(['session', 'progress']);
    expect(fixture.events.filter(of('done'))).toHaveLength(2);
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(450);
  });
});

/** True when `command` can be run from PATH. */
function onPath(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

// The real package managers, started the way a terminal starts a command line (a process group
// of its own) and interrupted the way a terminal does on Ctrl-C (SIGINT to the whole group).
// pnpm then sends its child SIGTERM and exits at once; npm sends SIGINT on and waits.
describe.skipIf(process.platform === 'win32')('under a package manager', () => {
  const packageDir = fileURLToPath(new URL('..', import.meta.url));
  it.each([
    ['pnpm', ['pnpm', 'exec']],
    ['npm', ['npm', 'exec', '--']],
  ] as const)(
    'one Ctrl-C under %s exec runs every hook and exits 130, not forced',
    async (tool, via) => {
      if (!onPath(tool)) {
        console.warn(`skipped: ${tool} is not on PATH`);
        return;
      }
      const fixture = startFixture(
        build,
        'scenario.mjs',
        { reportExit: true, controllers: [{ hooks: RECIPE, forceHooks: ['sync flush'] }] },
        { via, cwd: packageDir },
      );
      await fixture.waitFor(of('ready'), 60_000);
      fixture.sendToGroup('SIGINT');
      await fixture.exited;

      // The terminal's SIGINT reaches this process at the same instant as pnpm; pnpm's SIGTERM
      // follows, and on a busy machine it can be handled first. Either way it is one request,
      // not forced, with the Ctrl-C's exit code.
      const first = fixture.events.find(of('aborted'))?.signal;
      expect(fixture.events.find(of('exit'))).toMatchObject({ code: 130 });
      expect(fixture.events.find(of('done'))).toMatchObject({ exitCode: 130, forced: false });
      expect(hookEvents(fixture.events)).toEqual([
        'hook-start:flush pending updates',
        'hook-end:flush pending updates',
        'hook-start:save backlog',
        'hook-end:save backlog',
        'hook-start:log progress summary',
        'hook-end:log progress summary',
      ]);
      expect(first === 'SIGINT' || (tool === 'pnpm' && first === 'SIGTERM')).toBe(true);
      expect(fixture.events.some((e) => e.event === 'log' && e.level === 'warn')).toBe(false);
    },
  );
});

describe('trigger() and errors', () => {
  it('trigger() runs the hooks in order and exits 0', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      action: 'trigger',
      controllers: [{ hooks: RECIPE }],
    });
    const exit = await fixture.exited;
    expect(exit.code).toBe(0);
    expect(hookEvents(fixture.events)).toEqual([
      'hook-start:flush pending updates',
      'hook-end:flush pending updates',
      'hook-start:save backlog',
      'hook-end:save backlog',
      'hook-start:log progress summary',
      'hook-end:log progress summary',
    ]);
    expect(fixture.events.find(of('aborted'))).toMatchObject({
      code: 'TRIGGERED',
      message: 'Shutdown triggered: resource limit',
    });
  });

  it('trigger() exits with the given code, or 1 when a hook failed', async () => {
    const withCode = startFixture(build, 'scenario.mjs', {
      action: 'trigger',
      triggerOptions: { exitCode: 3 },
      controllers: [{ hooks: RECIPE }],
    });
    const failing = startFixture(build, 'scenario.mjs', {
      action: 'trigger',
      controllers: [
        {
          hooks: [
            { name: 'flush pending updates', fail: 'disk full' },
            { name: 'save backlog', ms: 10 },
          ],
        },
      ],
    });
    expect((await withCode.exited).code).toBe(3);
    expect((await failing.exited).code).toBe(1);
    expect(failing.events.find((e) => e.event === 'hook-end')?.hook).toBe('save backlog');
    expect(failing.events.find((e) => e.event === 'log' && e.level === 'error')).toMatchObject({
      error: 'disk full',
    });
  });

  it.each([
    ['throw', 'unexpected failure'],
    ['reject', 'forgotten promise'],
  ] as const)(
    'with handleErrors, an uncaught error (%s) runs the hooks, then exits 1',
    async (action, message) => {
      const fixture = startFixture(build, 'scenario.mjs', {
        action,
        controllers: [{ options: { handleErrors: true }, hooks: RECIPE }],
      });
      const exit = await fixture.exited;
      expect(exit.code).toBe(1);
      expect(fixture.events.filter((e) => e.event === 'hook-end').map((e) => e.hook)).toEqual(
        RECIPE.map((h) => h.name),
      );
      expect(fixture.events.find(of('aborted'))).toMatchObject({ code: 'UNCAUGHT' });
      expect(fixture.events.find((e) => e.event === 'log' && e.level === 'error')).toMatchObject({
        error: message,
      });
    },
  );

  it('without handleErrors, an uncaught exception crashes as Node would, without hooks', async () => {
    const fixture = startFixture(build, 'scenario.mjs', {
      action: 'throw',
      controllers: [{ hooks: RECIPE }],
    });
    const exit = await fixture.exited;
    expect(exit.code).toBe(1);
    expect(fixture.events.filter((e) => e.event === 'hook-start')).toEqual([]);
    expect(fixture.stderr()).toContain('unexpected failure');
  });

  it.skipIf(process.platform === 'win32')(
    'with exit: false, the application decides how to exit',
    async () => {
      const fixture = startFixture(build, 'scenario.mjs', {
        exitWhenDone: true,
        controllers: [{ options: { exit: false }, hooks: RECIPE }],
      });
      await fixture.waitFor(of('ready'));
      fixture.send('SIGTERM');
      const exit = await fixture.exited;
      expect(exit.code).toBe(42);
      expect(fixture.events.filter((e) => e.event === 'hook-end')).toHaveLength(3);
      expect(fixture.events.at(-1)?.event).toBe('app-exit');
    },
  );
});
