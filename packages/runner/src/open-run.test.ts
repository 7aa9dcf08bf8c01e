import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFileStore,
  createMemoryStore,
  readSession,
  SessionManager,
  type SessionSummary,
} from '@savepoint/session';
import { type Backlog, createBacklogIndex } from '@savepoint/task-schema';
import { afterEach, describe, expect, it } from 'vitest';
import { RunnerError } from './errors.ts';
import { openRun, previewRun, resolveRunConfig } from './open-run.ts';
import { readRunConfig, writeRunConfig } from './run-config.ts';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function planDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'open-run-'));
  dirs.push(dir);
  return join(dir, 'plan');
}

/** One task whose subtasks have the given titles, all Planned or as `done` says. */
function backlog(titles: string[], done: string[] = []): Backlog {
  const box = (type: string, id: string) => ({
    type,
    id,
    title: `${type} title`,
    status: 'Planned',
    description: `${type} description`,
  });
  const subtasks = titles.map((title, i) => ({
    type: 'Subtask',
    id: `P1.M1.T1.S${i + 1}`,
    title,
    status: done.includes(title) ? 'Complete' : 'Planned',
    story_points: 1,
    dependencies: [],
    context_scope: `scope of ${title}`,
  }));
  return {
    backlog: [
      {
        ...box('Phase', 'P1'),
        milestones: [
          { ...box('Milestone', 'P1.M1'), tasks: [{ ...box('Task', 'P1.M1.T1'), subtasks }] },
        ],
      },
    ],
  } as unknown as Backlog;
}

/** Creates and closes the session of PRD `# one` in `dir`; returns its metadata. */
async function firstSession(dir: string, first: Backlog) {
  const manager = new SessionManager({ prdText: '# one\n', planDir: dir });
  await manager.initialize({ backlog: first });
  const metadata = manager.currentSession!.metadata;
  await manager.close();
  return metadata;
}

async function failure(promise: Promise<unknown>): Promise<RunnerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RunnerError);
  return error as RunnerError;
}

describe('resolveRunConfig', () => {
  it('lays the given values over the stored ones', () => {
    expect(
      resolveRunConfig({ exec: 'make', retries: 2 }, { retries: 5, scope: undefined }),
    ).toEqual({ exec: 'make', retries: 5 });
  });

  it('refuses a configuration without a command unless another worker does the work', () => {
    expect(() => resolveRunConfig({ retries: 1 }, { exec: undefined })).toThrow(
      expect.objectContaining({ code: 'NO_WORKER' }),
    );
    expect(resolveRunConfig({ retries: 1 }, {}, { hasWorker: true })).toEqual({ retries: 1 });
  });
});

describe('openRun', () => {
  it('creates the first session with the planned backlog and stores its run.json', async () => {
    const dir = planDir();
    const manager = new SessionManager({ prdText: '# one\n', planDir: dir });
    let planned = 0;
    const opened = await openRun(manager, {
      prd: '# one\n',
      given: { exec: 'make item', retries: 3, scope: 'P1.M1' },
      backlog: () => {
        planned += 1;
        return backlog(['a', 'b']);
      },
    });
    await manager.close();
    expect(planned).toBe(1);
    expect(opened.state.isNew).toBe(true);
    expect(opened.carried).toEqual([]);
    expect(opened.config).toEqual({ exec: 'make item', retries: 3, scope: 'P1.M1' });
    expect(await readRunConfig(opened.state.metadata.path)).toEqual(opened.config);
  });

  it('resumes the PRD session with its stored configuration and without planning', async () => {
    const dir = planDir();
    const { path } = await firstSession(dir, backlog(['a']));
    await writeRunConfig(path, { exec: 'make item', retries: 4 });

    const seen: SessionSummary[] = [];
    const manager = new SessionManager({ prdText: '# one\n', planDir: dir });
    const opened = await openRun(manager, {
      prd: '# one\n',
      given: { retries: undefined, concurrency: 2 },
      backlog: () => {
        throw new Error('a resumed session is not planned again');
      },
      onExisting: (session) => seen.push(session),
    });
    await manager.close();
    expect(opened.state.isNew).toBe(false);
    expect(seen.map((session) => session.path)).toEqual([path]);
    expect(opened.config).toEqual({ exec: 'make item', retries: 4, concurrency: 2 });
    expect(await readRunConfig(path)).toEqual(opened.config);
  });

  it('carries the Complete subtasks of the parent over into a delta session', async () => {
    const dir = planDir();
    await firstSession(dir, backlog(['a', 'b'], ['a']));

    const manager = new SessionManager({ prdText: '# two\n', planDir: dir });
    const opened = await openRun(manager, {
      prd: '# two\n',
      given: { exec: 'true' },
      backlog: () => backlog(['a', 'b', 'c']),
    });
    await manager.close();
    expect(opened.state.isDelta).toBe(true);
    expect(opened.carried).toEqual(['P1.M1.T1.S1']);
    const stored = await readSession(opened.state.metadata.path);
    expect(
      stored.backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks.map((s) => s.status),
    ).toEqual(['Complete', 'Planned', 'Planned']);
  });

  it('writes nothing when there is no worker, the scope is unknown, or planning fails', async () => {
    const dir = planDir();
    const open = (options: Parameters<typeof openRun>[1]) =>
      openRun(new SessionManager({ prdText: '# one\n', planDir: dir }), options);
    expect(
      (await failure(open({ prd: '# one\n', given: {}, backlog: () => backlog(['a']) }))).code,
    ).toBe('NO_WORKER');
    const unknown = await failure(
      open({ prd: '# one\n', given: { exec: 'true', scope: 'P9' }, backlog: () => backlog(['a']) }),
    );
    expect(unknown).toMatchObject({ code: 'UNKNOWN_SCOPE', itemId: 'P9' });
    expect(unknown.message).toBe("unknown scope 'P9': no item with that id in the backlog");
    await expect(
      open({
        prd: '# one\n',
        given: { exec: 'true' },
        backlog: () => Promise.reject(new Error('planner failed')),
      }),
    ).rejects.toThrow('planner failed');
    expect(existsSync(dir) ? readdirSync(dir).filter((name) => /^\d{3}_/.test(name)) : []).toEqual(
      [],
    );
  });

  it('opens a given session of any store, and closes it again when its scope is unknown', async () => {
    const store = createMemoryStore();
    const first = new SessionManager({ prdText: '# one\n', store });
    await first.initialize({ backlog: backlog(['a']) });
    const summary = (await first.listSessions())[0]!;
    await first.close();

    const configs = new Map([[summary.id, { exec: 'stored', scope: 'P1.M2' }]]);
    const readConfig = async (session: SessionSummary) => configs.get(session.id) ?? {};
    const manager = new SessionManager({ store });
    const refused = await failure(openRun(manager, { session: summary, readConfig }));
    expect(refused.code).toBe('UNKNOWN_SCOPE');
    expect(manager.currentSession).toBeNull();

    const opened = await openRun(manager, {
      session: summary,
      readConfig,
      given: { scope: 'P1.M1.T1.S1' },
    });
    expect(opened.config).toEqual({ exec: 'stored', scope: 'P1.M1.T1.S1' });
    await manager.close();
  });

  it('refuses options that name neither a session nor a PRD with its backlog', async () => {
    const manager = new SessionManager({ prdText: '# one\n', planDir: planDir() });
    await expect(openRun(manager, { prd: '# one\n' })).rejects.toThrow(TypeError);
  });
});

// The file store's run.json is the artifact openRun writes.
it('stores run.json as the file readRunConfig reads', async () => {
  const dir = planDir();
  const manager = new SessionManager({ prdText: '# one\n', planDir: dir });
  const { state } = await openRun(manager, {
    prd: '# one\n',
    given: { exec: 'x', timeoutMs: 50 },
    backlog: () => backlog(['a']),
  });
  await manager.close();
  expect(readFileSync(join(state.metadata.path, 'run.json'), 'utf8')).toBe(
    '{\n  "exec": "x",\n  "timeoutMs": 50\n}\n',
  );
});

describe('previewRun', () => {
  const sessionsIn = (dir: string) =>
    existsSync(dir) ? readdirSync(dir).filter((name) => /^\d{3}_/.test(name)) : [];

  it('shows the first session a run would create, writing nothing', async () => {
    const dir = planDir();
    const preview = await previewRun(createFileStore(dir), {
      prd: '# one\n',
      backlog: () => backlog(['a']),
    });
    expect(preview).toMatchObject({ session: null, parent: null, carried: [] });
    expect(preview.backlog).toEqual(backlog(['a']));
    expect(sessionsIn(dir)).toEqual([]);
  });

  it("shows the PRD's session and its backlog without planning", async () => {
    const dir = planDir();
    const { id } = await firstSession(dir, backlog(['a', 'b'], ['b']));
    const preview = await previewRun(createFileStore(dir), {
      prd: new TextEncoder().encode('# one\n'),
      backlog: () => {
        throw new Error('a session that exists is not planned');
      },
    });
    expect(preview.session?.id).toBe(id);
    expect(preview.parent).toBeNull();
    expect(preview.backlog).toEqual(backlog(['a', 'b'], ['b']));
  });

  it('shows the delta session with what it would carry over, writing nothing', async () => {
    const dir = planDir();
    const { id: parent } = await firstSession(dir, backlog(['a', 'b'], ['b']));
    const preview = await previewRun(createFileStore(dir), {
      prd: '# two\n',
      backlog: () => backlog(['b', 'c']),
    });
    expect(preview.session).toBeNull();
    expect(preview.parent?.id).toBe(parent);
    expect(preview.carried).toEqual(['P1.M1.T1.S1']);
    const statuses = createBacklogIndex(preview.backlog)
      .subtasks()
      .map((s) => s.status);
    expect(statuses).toEqual(['Complete', 'Planned']);
    expect(sessionsIn(dir)).toEqual([parent]);
  });
});
