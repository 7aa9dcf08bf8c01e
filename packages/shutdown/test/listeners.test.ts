import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { buildFresh, type FreshBuild } from './support/build.ts';
import { killFixtures, startFixture } from './support/fixture.ts';

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

it('1,000 controllers leave every listener count where it started, with no warnings', async () => {
  const fixture = startFixture(build, 'listeners.mjs');
  const exit = await fixture.exited;
  expect(exit.code).toBe(0);
  expect(fixture.stderr()).not.toMatch(/MaxListenersExceeded|Warning/);
  expect(fixture.events).toHaveLength(1);
  const report = fixture.events[0] as unknown as Record<string, unknown>;
  expect(report).toMatchObject({ ownKept: true, warnings: [] });
  const before = report.before as Record<string, number>;
  expect(before).toEqual({
    SIGINT: 1,
    SIGTERM: 0,
    SIGHUP: 0,
    uncaughtException: 1,
    unhandledRejection: 0,
  });
  expect(report.afterCycles).toEqual(before);
  expect(report.afterAlive).toEqual(before);
  // ESM and CJS copies share one coordinator: one listener per event for all 1,000 controllers.
  expect(report.whileAlive).toEqual({
    SIGINT: 2,
    SIGTERM: 1,
    SIGHUP: 1,
    uncaughtException: 2,
    unhandledRejection: 1,
  });
});
