import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeBacklog, useTempDir } from '../test/helpers.ts';
import { findSessionByPRD, hashPrd, readSession, SessionError, SessionManager } from './index.ts';

let dir: string;
let planDir: string;
useTempDir((temp) => {
  dir = temp;
  planDir = join(temp, 'plan');
});

const SHAPE = { phases: 1, milestones: 1, tasks: 2, subtasks: 2 };

/** Values that cannot be written as JSON, each inside an otherwise valid backlog. */
function unwritable(): Array<[string, unknown]> {
  const withBigInt = makeBacklog(SHAPE) as unknown as Record<string, unknown>;
  withBigInt.budget = 10n;
  const withFunction = makeBacklog(SHAPE);
  (withFunction.backlog[0] as unknown as Record<string, unknown>).render = () => 'x';
  const withCycle = makeBacklog(SHAPE) as unknown as Record<string, unknown>;
  withCycle.self = withCycle;
  const withSymbol = makeBacklog(SHAPE) as unknown as Record<string, unknown>;
  withSymbol.tag = Symbol('x');
  return [
    ['a BigInt', withBigInt],
    ['a function', withFunction],
    ['a cycle', withCycle],
    ['a symbol', withSymbol],
    ['null', null],
    ['a number', 42],
    ['an array', []],
    ['a string', '{"backlog": []}'],
  ];
}

describe('bad input never sticks', () => {
  it('refuses an unwritable backlog in saveBacklog with INVALID_BACKLOG, changing nothing', async () => {
    const manager = new SessionManager({ prdText: '# PRD\n', planDir });
    const state = await manager.initialize({ backlog: makeBacklog(SHAPE) });
    manager.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await manager.flushUpdates();
    const files = async () =>
      Promise.all(
        (await readdir(state.metadata.path))
          .sort()
          .map(async (name) => [name, await readFile(join(state.metadata.path, name))]),
      );
    const before = await files();
    const registry = manager.currentSession!.taskRegistry;
    for (const [what, value] of unwritable()) {
      const error = await manager.saveBacklog(value as never).catch((caught: unknown) => caught);
      expect(error, what).toBeInstanceOf(SessionError);
      expect(error, what).toMatchObject({ code: 'INVALID_BACKLOG' });
      expect(manager.currentSession!.taskRegistry, what).toBe(registry);
      expect(manager.isDirty, what).toBe(false);
    }
    expect(await files()).toEqual(before);
    // The session still works, and a later save writes what it should.
    manager.updateItemStatus('P1.M1.T2.S1', 'Failed');
    await manager.close();
    const onDisk = (await readSession(state.metadata.path)).backlog;
    expect(onDisk.backlog[0]!.milestones[0]!.tasks[1]!.subtasks[0]!.status).toBe('Failed');
    expect(onDisk.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!.status).toBe('Complete');
  });

  it('refuses an unwritable backlog in initialize with INVALID_BACKLOG, creating nothing', async () => {
    for (const [what, value] of unwritable()) {
      const manager = new SessionManager({ prdText: `# PRD ${what}\n`, planDir });
      const error = await manager
        .initialize({ backlog: value as never })
        .catch((caught: unknown) => caught);
      // A string or number is a caller mistake in the options (TypeError); a value inside an
      // object that JSON cannot hold is an invalid backlog.
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        expect(error, what).toMatchObject({ code: 'INVALID_BACKLOG' });
      } else {
        expect(error, what).toBeInstanceOf(Error);
        expect((error as Error).name, what).toMatch(/^(TypeError|SessionError)$/);
      }
      const factory = await new SessionManager({ prdText: `# PRD f ${what}\n`, planDir })
        .initialize({ backlog: () => value as never })
        .catch((caught: unknown) => caught);
      expect(factory, what).toMatchObject({ code: 'INVALID_BACKLOG' });
    }
    const entries = await readdir(planDir).catch(() => []);
    expect(entries.filter((entry) => /^\d{3}_/.test(entry))).toEqual([]);
  });

  it('answers bad arguments of public methods with a described TypeError or SessionError', async () => {
    const manager = new SessionManager({ prdText: '# PRD\n', planDir });
    await manager.initialize({ backlog: makeBacklog(SHAPE) });
    const calls: Array<[string, () => unknown]> = [
      [
        'updateItemStatus(undefined)',
        () => manager.updateItemStatus(undefined as never, 'Complete'),
      ],
      [
        'updateItemStatus(options null)',
        () => manager.updateItemStatus('P1', 'Complete', null as never),
      ],
      [
        'updateItemStatus(rollUp "yes")',
        () => manager.updateItemStatus('P1', 'Complete', { rollUp: 'yes' as never }),
      ],
      ['setCurrentItem({})', () => manager.setCurrentItem({} as never)],
      ['writeArtifact(null)', () => manager.writeArtifact(null as never, 'x')],
      ['writeArtifact(text 5)', () => manager.writeArtifact('NOTES.md', 5 as never)],
      ['removeArtifact(../x)', () => manager.removeArtifact('../x')],
      ['loadSession(5)', () => new SessionManager({ planDir }).loadSession(5 as never)],
      [
        'loadSession(options null)',
        () => new SessionManager({ planDir }).loadSession('x', null as never),
      ],
      [
        'loadSession(signal "x")',
        () => new SessionManager({ planDir }).loadSession('x', { signal: 'x' as never }),
      ],
      [
        'initialize(null)',
        () => new SessionManager({ prdText: 'p', planDir }).initialize(null as never),
      ],
      ['findSessionByPRD(null)', () => manager.findSessionByPRD(null as never)],
      ['readSession(undefined)', () => readSession(undefined as never)],
      ['findSessionByPRD(planDir, 5)', () => findSessionByPRD(planDir, 5 as never)],
    ];
    for (const [what, call] of calls) {
      let caught: unknown;
      try {
        await call();
      } catch (error) {
        caught = error;
      }
      expect(caught, what).toBeInstanceOf(Error);
      const error = caught as Error;
      expect(error.name, what).toMatch(/^(TypeError|SessionError)$/);
      // Described: says what was expected, never an engine message about undefined properties.
      if (error.name === 'TypeError') expect(error.message, what).toMatch(/expected/);
    }
    await manager.close();
  });

  it('names a session after the bytes of its PRD, so a Latin-1 PRD resumes its session', async () => {
    const prdPath = join(dir, 'PRD.md');
    const latin1 = Buffer.from('# Caf\xe9 cr\xe8me \xfcber\n', 'latin1');
    await writeFile(prdPath, latin1);
    const first = new SessionManager({ prdPath, planDir });
    const created = await first.initialize({ backlog: makeBacklog(SHAPE) });
    expect(created.metadata.hash).toBe(hashPrd(latin1));
    first.updateItemStatus('P1.M1.T1.S1', 'Complete');
    await first.close();
    expect(await readFile(join(created.metadata.path, 'prd_snapshot.md'))).toEqual(latin1);

    const second = new SessionManager({ prdPath, planDir });
    const resumed = await second.initialize();
    expect(resumed.isNew).toBe(false);
    expect(resumed.metadata.id).toBe(created.metadata.id);
    expect(resumed.taskRegistry.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[0]!.status).toBe(
      'Complete',
    );
    await second.close();
    expect((await findSessionByPRD(planDir, await readFile(prdPath)))?.id).toBe(
      created.metadata.id,
    );
  });
});
