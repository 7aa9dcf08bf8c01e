import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSession, SessionManager } from '@savepoint/session';
import type { Backlog, Subtask } from '@savepoint/task-schema';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backlogOf } from '../test/backlog.ts';
import { commandWorker, runCommand } from './command-worker.ts';
import { blockedSubtasks } from './report.ts';
import { createRunner, type RunnerOptions } from './runner.ts';
import { simulatedWorker } from './simulate.ts';
import type { RunnerEvent, Worker } from './types.ts';
import { createSessionSource, type WorkSource } from './work-source.ts';

let dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** One task with subtasks S1..Sn; `deps[i]` lists the indexes subtask i depends on. */
function backlog(deps: number[][]): Backlog {
  return backlogOf(deps);
}

async function open(deps: number[][]): Promise<SessionManager> {
  const dir = mkdtempSync(join(tmpdir(), 'runner-test-'));
  dirs.push(dir);
  const manager = new SessionManager({ prdText: '# prd\n', planDir: join(dir, 'plan') });
  await manager.initialize({ backlog: backlog(deps) });
  return manager;
}

function statusesOf(manager: SessionManager): string[] {
  return manager.index.subtasks().map((s) => s.status);
}

function run(manager: SessionManager, worker: Worker, options: Partial<RunnerOptions> = {}) {
  const events: RunnerEvent[] = [];
  const runner = createRunner({
    session: manager,
    worker,
    backoff: () => 1,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { runner, events, done: runner.run() };
}

describe('createRunner with function workers', () => {
  it('runs every subtask once in dependency order and records each outcome durably', async () => {
    const manager = await open([[], [0], [1]]);
    const seen: string[] = [];
    const { done, events } = run(manager, (item, context) => {
      seen.push(`${item.id}:${context.attempt}`);
      context.output(`working on ${item.id}\n`);
    });
    const summary = await done;
    expect(seen).toEqual(['P1.M1.T1.S1:1', 'P1.M1.T1.S2:1', 'P1.M1.T1.S3:1']);
    expect(summary.completed).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3']);
    expect(statusesOf(manager)).toEqual(['Complete', 'Complete', 'Complete']);
    expect(events.map((e) => `${e.type} ${e.item.id}`)).toEqual([
      'started P1.M1.T1.S1',
      'output P1.M1.T1.S1',
      'finished P1.M1.T1.S1',
      'started P1.M1.T1.S2',
      'output P1.M1.T1.S2',
      'finished P1.M1.T1.S2',
      'started P1.M1.T1.S3',
      'output P1.M1.T1.S3',
      'finished P1.M1.T1.S3',
    ]);
    const path = manager.currentSession!.metadata.path;
    expect(readFileSync(join(path, 'logs', 'P1.M1.T1.S2.1.log'), 'utf8')).toBe(
      'working on P1.M1.T1.S2\n',
    );
    // What the runner recorded is on disk (snapshot + journal), not only in memory: a reader
    // that does not hold the session sees it.
    const onDisk = await readSession(path);
    expect(onDisk.backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks[2]!.status).toBe(
      'Complete',
    );
    await manager.close();
  });

  it('runs up to `concurrency` at once and never more', async () => {
    const manager = await open(Array.from({ length: 9 }, () => []));
    let running = 0;
    let most = 0;
    const release: Array<() => void> = [];
    const { done } = run(
      manager,
      () =>
        new Promise<undefined>((resolve) => {
          running += 1;
          most = Math.max(most, running);
          release.push(() => {
            running -= 1;
            resolve(undefined);
          });
        }),
      { concurrency: 3 },
    );
    for (let finished = 0; finished < 9; finished++) {
      await vi.waitFor(() => expect(release.length).toBeGreaterThan(finished));
      expect(running).toBeLessThanOrEqual(3);
      release[finished]!();
    }
    const summary = await done;
    expect(summary.completed).toHaveLength(9);
    expect(most).toBe(3);
    await manager.close();
  });

  it('retries with backoff (fake time), then fails, blocking only the dependants', async () => {
    const manager = await open([[], [0], [1], []]);
    // Only timeouts are faked: file I/O (and the setImmediate that lets it progress) stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const attempts: string[] = [];
    const delays: number[] = [];
    const { done, events } = run(
      manager,
      (item, context) => {
        attempts.push(`${item.id}:${context.attempt}`);
        if (item.id === 'P1.M1.T1.S1') throw new Error(`no luck ${context.attempt}`);
      },
      {
        retries: 2,
        backoff: (n) => {
          delays.push(n);
          return 1000 * n;
        },
      },
    );
    let settled = false;
    void done.finally(() => {
      settled = true;
    });
    let fakeMs = 0;
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(100);
      fakeMs += 100;
    }
    const summary = await done;
    // The pauses passed on the fake clock: 1 s + 2 s, not on the wall clock.
    expect(fakeMs).toBeGreaterThanOrEqual(3000);
    expect(delays).toEqual([1, 2]);
    expect(attempts).toEqual(['P1.M1.T1.S1:1', 'P1.M1.T1.S1:2', 'P1.M1.T1.S1:3', 'P1.M1.T1.S4:1']);
    expect(statusesOf(manager)).toEqual(['Failed', 'Planned', 'Planned', 'Complete']);
    expect(summary.failed).toMatchObject([
      { id: 'P1.M1.T1.S1', attempts: 3, message: 'no luck 3' },
    ]);
    expect([...summary.blocked.keys()]).toEqual(['P1.M1.T1.S2', 'P1.M1.T1.S3']);
    expect(
      events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.delayMs),
    ).toEqual([1000, 2000]);
    expect(events.at(-1)?.type).toBe('finished');
    const report = readFileSync(
      join(manager.currentSession!.metadata.path, 'ERROR_REPORT.md'),
      'utf8',
    );
    expect(report).toContain('no luck 3');
    expect(report).toContain('P1.M1.T1.S2: waits on P1.M1.T1.S1');
    await manager.close();
  });

  it('stops at the abort signal: no new claims, in-flight subtasks back to Planned', async () => {
    const manager = await open([[], [], [], []]);
    const controller = new AbortController();
    let started = 0;
    const { done } = run(
      manager,
      (_item, _context, signal) =>
        new Promise((resolve) => {
          started += 1;
          signal.addEventListener('abort', () => resolve({ ok: false, message: 'stopped' }));
        }),
      { concurrency: 2, signal: controller.signal },
    );
    await vi.waitFor(() => expect(started).toBe(2));
    expect(statusesOf(manager)).toEqual(['Implementing', 'Implementing', 'Planned', 'Planned']);
    controller.abort();
    const summary = await done;
    expect(summary.interrupted).toBe(true);
    expect(started).toBe(2);
    expect(statusesOf(manager)).toEqual(['Planned', 'Planned', 'Planned', 'Planned']);
    await manager.close();
  });

  it('fails an attempt that runs past timeoutMs', async () => {
    const manager = await open([[]]);
    const { done } = run(
      manager,
      (_item, _context, signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve(undefined))),
      { timeoutMs: 20 },
    );
    const summary = await done;
    expect(summary.failed[0]?.message).toBe('timed out after 20 ms');
    expect(statusesOf(manager)).toEqual(['Failed']);
    await manager.close();
  });

  it('takes timeoutMs 0, and one longer than a timer holds, as no limit', async () => {
    // setTimeout with more than 2 ** 31 - 1 ms fires after 1 ms: such a limit must not end an
    // attempt that outlives a 30 ms timer set after it.
    for (const timeoutMs of [0, 2 ** 31, 3_000_000_000]) {
      const manager = await open([[]]);
      const { done } = run(
        manager,
        (_item, _context, signal) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => resolve({ ok: true }), 30);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve({ ok: false, message: `aborted: ${String(signal.reason)}` });
            });
          }),
        { timeoutMs },
      );
      const summary = await done;
      expect({ timeoutMs, failed: summary.failed }).toEqual({ timeoutMs, failed: [] });
      expect(statusesOf(manager)).toEqual(['Complete']);
      await manager.close();
    }
  });

  it('ends simulated work that is longer than a timer holds only when aborted', async () => {
    const manager = await open([[]]);
    const stop = new AbortController();
    const { done, events } = run(manager, simulatedWorker(3_000_000_000), {
      signal: stop.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(events.map((e) => e.type)).toEqual(['started']);
    stop.abort();
    const summary = await done;
    expect(summary.interrupted).toBe(true);
    expect(summary.completed).toEqual([]);
    expect(statusesOf(manager)).toEqual(['Planned']);
    await manager.close();
  });

  it('hands the worker its item, ancestors, context scope and dependencies', async () => {
    const manager = await open([[], [0]]);
    const details: unknown[] = [];
    await run(manager, (_item, context) => {
      details.push(context.details);
    }).done;
    expect(details[1]).toMatchObject({
      item: { id: 'P1.M1.T1.S2' } satisfies Partial<Subtask>,
      ancestors: [
        { id: 'P1', description: 'Phase description' },
        { id: 'P1.M1' },
        { id: 'P1.M1.T1' },
      ],
      context_scope: 'scope 2',
      dependencies: [{ id: 'P1.M1.T1.S1', title: 'subtask 1', status: 'Complete' }],
      attempt: 1,
      previous_log: null,
    });
    await manager.close();
  });

  it('takes work from a custom source and drops an outcome whose claim was lost', async () => {
    const manager = await open([[], []]);
    const inner = createSessionSource(manager);
    const released: string[] = [];
    let lost = false;
    const source: WorkSource = {
      ...inner,
      async release(id, status) {
        released.push(`${id} ${status}`);
        // As a store would answer once when the lease on S1 expired during its first attempt:
        // the item goes back for another worker, here this runner again.
        const lose = id === 'P1.M1.T1.S1' && !lost;
        lost ||= lose;
        await inner.release(id, lose ? 'Planned' : status);
        return !lose;
      },
    };
    const { done, events } = run(manager, () => undefined, { source });
    const summary = await done;
    expect(released).toEqual([
      'P1.M1.T1.S1 Complete',
      'P1.M1.T1.S1 Complete',
      'P1.M1.T1.S2 Complete',
    ]);
    expect(summary.completed).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2']);
    expect(events.filter((e) => e.type === 'finished')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'started')).toHaveLength(3);
    await manager.close();
  });

  it('works from a source alone: logs in workDir, a dropped claim stops its process group and is not counted', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'runner-source-'));
    dirs.push(parent);
    const workDir = join(parent, 'work', 'slot-1'); // made by the runner
    const items = (
      backlog([[], [0]]).backlog[0]!.milestones[0]!.tasks[0]!.subtasks as Subtask[]
    ).slice();
    const released: string[] = [];
    const source: WorkSource = {
      open: async () => [],
      claim: async () => items.shift(),
      mark: async () => undefined,
      release: async (id, status) => {
        released.push(`${id} ${status}`);
        return true;
      },
      releaseAllSync: () => undefined,
    };
    const pidFile = join(parent, 'pid');
    const events: RunnerEvent[] = [];
    const runner = createRunner({
      source,
      workDir,
      worker: commandWorker(
        `if [ "$SAVEPOINT_ITEM_ID" = P1.M1.T1.S1 ]; then echo $$ > '${pidFile}'; exec sleep 30; fi; echo "in $SAVEPOINT_SESSION_DIR"`,
        { graceMs: 200 },
      ),
      onEvent: (event) => events.push(event),
    });
    const done = runner.run();
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(runner.drop('P1.M1.T1.S9')).toBe(false);
    expect(runner.drop('P1.M1.T1.S1')).toBe(true);
    const summary = await done;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(summary.lost).toEqual(['P1.M1.T1.S1']);
    expect(summary.completed).toEqual(['P1.M1.T1.S2']);
    expect(summary.blocked.size).toBe(0);
    expect(summary.errorReport).toBe('unchanged');
    expect(released).toEqual(['P1.M1.T1.S1 Planned', 'P1.M1.T1.S2 Complete']);
    expect(events.filter((e) => e.type === 'lost').map((e) => e.item.id)).toEqual(['P1.M1.T1.S1']);
    const log = readFileSync(join(workDir, 'logs', 'P1.M1.T1.S2.1.log'), 'utf8');
    expect(log).toBe(`in ${workDir}\n`);
    // No backlog to look in: the dependency is named by id only.
    const details = JSON.parse(
      readFileSync(join(workDir, 'logs', 'P1.M1.T1.S2.1.item.json'), 'utf8'),
    );
    expect(details.ancestors).toEqual([]);
    expect(details.dependencies).toEqual([{ id: 'P1.M1.T1.S1', title: null, status: null }]);
    expect(existsSync(join(workDir, 'workers.json'))).toBe(false);
  });

  it('rejects misuse with a TypeError', async () => {
    const manager = await open([[]]);
    expect(() => createRunner({ session: manager, worker: 'echo' as never })).toThrow(TypeError);
    expect(() => createRunner({ worker: () => undefined })).toThrow(/a session, or a source/);
    expect(() =>
      createRunner({ source: createSessionSource(manager), worker: () => undefined }),
    ).toThrow(/workDir/);
    expect(() =>
      createRunner({ session: manager, worker: () => undefined, concurrency: 0 }),
    ).toThrow(/concurrency/);
    for (const timeoutMs of [-1, 0.5, Number.NaN]) {
      expect(() => createRunner({ session: manager, worker: () => undefined, timeoutMs })).toThrow(
        /timeoutMs to be a whole number of 0 or more/,
      );
    }
    for (const groupCommitMs of [-1, 1.5]) {
      expect(() =>
        createRunner({ session: manager, worker: () => undefined, groupCommitMs }),
      ).toThrow(/groupCommitMs to be a whole number of 0 or more/);
      expect(() => createSessionSource(manager, { groupCommitMs })).toThrow(
        /createSessionSource expected groupCommitMs/,
      );
    }
    await manager.close();
  });
});

describe('commandWorker', () => {
  it('records the process group, ends it after the shell exits, and removes the record', async () => {
    const manager = await open([[]]);
    const path = manager.currentSession!.metadata.path;
    const pidFile = join(path, 'bg.pid');
    const { done, events } = run(
      manager,
      commandWorker(`sleep 30 & echo $! > "${pidFile}"; echo "item $SAVEPOINT_ITEM_ID"`, {
        graceMs: 500,
      }),
    );
    const summary = await done;
    expect(summary.completed).toEqual(['P1.M1.T1.S1']);
    expect(events.some((e) => e.type === 'output' && e.line === 'item P1.M1.T1.S1')).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The background sleep was ended (it would otherwise run 30 s).
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true);
    expect(existsSync(join(path, 'workers.json'))).toBe(false);
    await manager.close();
  });

  it('gives the command its log as stdout and stderr when nobody reads output lines', async () => {
    const manager = await open([[]]);
    const path = manager.currentSession!.metadata.path;
    const runner = createRunner({
      session: manager,
      worker: commandWorker(
        'echo "out 1"; echo "err 2" >&2; readlink /proc/self/fd/1; echo "out 4"; exit 3',
        { graceMs: 500 },
      ),
      tailLines: 3,
    });
    const summary = await runner.run();
    const logPath = join(path, 'logs', 'P1.M1.T1.S1.1.log');
    // No pipe in between: the command's stdout is the log file itself, and both streams land in
    // it in the order they were written.
    expect(readFileSync(logPath, 'utf8')).toBe(`out 1\nerr 2\n${logPath}\nout 4\n`);
    expect(summary.failed).toHaveLength(1);
    expect(summary.failed[0]).toMatchObject({
      exitCode: 3,
      logPath,
      outputTail: `err 2\n${logPath}\nout 4`,
    });
    await manager.close();
  });

  it('keeps output lines through pipes when they are wanted, and with outputEvents false does not', async () => {
    const manager = await open([[], []]);
    const worker = commandWorker('readlink /proc/self/fd/1', { graceMs: 500 });
    const piped = run(manager, worker, { scope: 'P1.M1.T1.S1' });
    await piped.done;
    const lines = piped.events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^(pipe|socket):/);
    const quiet = run(manager, worker, { scope: 'P1.M1.T1.S2', outputEvents: false });
    await quiet.done;
    expect(quiet.events.filter((e) => e.type === 'output')).toEqual([]);
    expect(quiet.events.map((e) => e.type)).toEqual(['started', 'finished']);
    await manager.close();
  });

  it('starts the command from the environment as it was when the worker was made', async () => {
    const manager = await open([[]]);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, SEEN: 'at creation' };
    const worker = commandWorker('printf "%s|%s|%s" "$SEEN" "$LATER" "$SAVEPOINT_ITEM_ID"', {
      env,
      graceMs: 500,
    });
    env.SEEN = 'changed afterwards';
    env.LATER = 'added afterwards';
    const { events, done } = run(manager, worker);
    await done;
    const lines = events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
    expect(lines).toEqual(['at creation||P1.M1.T1.S1']);
    await manager.close();
  });

  it('gives each attempt its own SAVEPOINT_ variables over ones the environment already has', async () => {
    // A runner inside another runner's worker inherits that worker's variables.
    const manager = await open([[], []]);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      KEPT: 'kept',
      SAVEPOINT_ITEM_ID: 'OUTER.ID',
      SAVEPOINT_ATTEMPT: '9',
      SAVEPOINT_RUN_TOKEN: 'outer-token',
    };
    const worker = commandWorker(
      'printf "%s|%s|%s|%s\\n" "$KEPT" "$SAVEPOINT_ITEM_ID" "$SAVEPOINT_ATTEMPT" "$SAVEPOINT_RUN_TOKEN"',
      { env, graceMs: 500 },
    );
    const { events, done } = run(manager, worker);
    await done;
    const lines = events.flatMap((e) => (e.type === 'output' ? [e.line] : []));
    expect(lines).toHaveLength(2);
    for (const [k, line] of lines.entries()) {
      const [kept, id, attempt, token] = line.split('|');
      expect([kept, id, attempt]).toEqual(['kept', `P1.M1.T1.S${k + 1}`, '1']);
      expect(token).toMatch(/^[0-9a-f]{8,}$/);
      expect(token).not.toBe('outer-token');
    }
    expect(env.SAVEPOINT_ITEM_ID).toBe('OUTER.ID');
    await manager.close();
  });
});

describe('outcomes and claims', () => {
  it('claims a dependant only once the outcome it waits on is on disk', async () => {
    const manager = await open([[], [0], [1]]);
    const path = manager.currentSession!.metadata.path;
    const seenOnDisk: string[] = [];
    const { done } = run(manager, (item) => {
      // Looked at synchronously as the worker starts: the journal's bytes, and whether a write
      // is still in flight.
      const journal = join(path, 'tasks.journal');
      const text = existsSync(journal) ? readFileSync(journal, 'latin1') : '';
      const deps = item.dependencies.map((id) =>
        text.includes(`[${JSON.stringify(id)},"Complete"]`) ? 'Complete' : 'not on disk',
      );
      seenOnDisk.push(`${item.id}:${deps.join(',')}:${manager.getStats().isFlushing}`);
    });
    await done;
    expect(seenOnDisk).toEqual([
      'P1.M1.T1.S1::false',
      'P1.M1.T1.S2:Complete:false',
      'P1.M1.T1.S3:Complete:false',
    ]);
    await manager.close();
  });

  it('starts an independent subtask before the previous outcome is on disk', async () => {
    const manager = await open([[], [], [0, 1]]);
    const path = manager.currentSession!.metadata.path;
    const completeOnDisk: string[][] = [];
    const { done } = run(manager, () => {
      const journal = join(path, 'tasks.journal');
      const text = existsSync(journal) ? readFileSync(journal, 'latin1') : '';
      completeOnDisk.push(
        ['P1.M1.T1.S1', 'P1.M1.T1.S2'].filter((id) =>
          text.includes(`[${JSON.stringify(id)},"Complete"]`),
        ),
      );
    });
    const summary = await done;
    expect(summary.completed).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2', 'P1.M1.T1.S3']);
    // S2 needs nothing from S1 and starts at once, before S1's outcome is written; S3 depends on
    // both and waits for the disk.
    expect(completeOnDisk).toEqual([[], [], ['P1.M1.T1.S1', 'P1.M1.T1.S2']]);
    await manager.close();
  });
});

describe('outcomes written in groups (groupCommitMs)', () => {
  /** The subtasks whose Complete the journal on disk holds, read synchronously. */
  function completeOnDisk(manager: SessionManager): string[] {
    const journal = join(manager.currentSession!.metadata.path, 'tasks.journal');
    const text = existsSync(journal) ? readFileSync(journal, 'latin1') : '';
    return manager.index
      .subtasks()
      .map((s) => s.id)
      .filter((id) => text.includes(`[${JSON.stringify(id)},"Complete"]`));
  }
  const ids = (...n: number[]) => n.map((k) => `P1.M1.T1.S${k}`);
  // Far longer than any test may take: whatever is written before the run ends was written by
  // something other than the window running out.
  const HOUR = 3_600_000;

  it('writes the outcomes of a quick series together, and the last ones as soon as nothing is ready', async () => {
    const manager = await open(Array.from({ length: 12 }, () => []));
    const before = manager.getStats().flushes;
    const seen: string[][] = [];
    const { done } = run(
      manager,
      async () => {
        seen.push(completeOnDisk(manager));
        await new Promise((resolve) => setTimeout(resolve, 2));
      },
      { groupCommitMs: HOUR },
    );
    const summary = await done;
    expect(summary.completed).toHaveLength(12);
    // The first outcome came after a quiet spell and went at once (its write may still be
    // running as the next workers start); every later one waited for the window, until the last
    // claim found nothing ready and wrote them all.
    expect(seen).toHaveLength(12);
    for (const onDisk of seen) expect([[], ids(1)]).toContainEqual(onDisk);
    expect(manager.getStats().flushes - before).toBe(2);
    expect(completeOnDisk(manager)).toHaveLength(12);
    const onDisk = await readSession(manager.currentSession!.metadata.path);
    expect(
      onDisk.backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks.map((s) => s.status),
    ).toEqual(Array.from({ length: 12 }, () => 'Complete'));
    await manager.close();
  });

  it('never makes a dependant wait for the window: its claim writes at once', async () => {
    const manager = await open([[], [0], [1], [2]]);
    const seen: string[] = [];
    const { done } = run(
      manager,
      (item) => {
        seen.push(`${item.id}:${completeOnDisk(manager).join(',')}`);
      },
      { groupCommitMs: HOUR },
    );
    await done;
    expect(seen).toEqual([
      'P1.M1.T1.S1:',
      `P1.M1.T1.S2:${ids(1)}`,
      `P1.M1.T1.S3:${ids(1, 2)}`,
      `P1.M1.T1.S4:${ids(1, 2, 3)}`,
    ]);
    await manager.close();
  });

  it('writes at once when the run is interrupted, with the outcomes still waiting', async () => {
    const manager = await open([[], [], []]);
    const controller = new AbortController();
    const seen: string[][] = [];
    const { done } = run(
      manager,
      async (item, _context, signal) => {
        seen.push(completeOnDisk(manager));
        // Past the turn in which the previous outcome's write starts.
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (item.id !== 'P1.M1.T1.S3') return;
        controller.abort();
        expect(signal.aborted).toBe(true);
      },
      { groupCommitMs: HOUR, signal: controller.signal },
    );
    const summary = await done;
    expect(summary.interrupted).toBe(true);
    // S2's outcome was waiting for the window when S3 started (S1's may have been being written).
    expect(seen).toHaveLength(3);
    expect([[], ids(1)]).toContainEqual(seen[2]);
    const onDisk = await readSession(manager.currentSession!.metadata.path);
    expect(
      onDisk.backlog.backlog[0]!.milestones[0]!.tasks[0]!.subtasks.map((s) => s.status),
    ).toEqual(['Complete', 'Complete', 'Planned']);
    await manager.close();
  });

  it('writes each outcome at once with flush "change", whatever the window', async () => {
    const manager = await open([[], [], []]);
    const seen: string[][] = [];
    const { done } = run(
      manager,
      () => {
        seen.push(completeOnDisk(manager));
      },
      { groupCommitMs: HOUR, flush: 'change' },
    );
    await done;
    expect(seen).toEqual([[], ids(1), ids(1, 2)]);
    await manager.close();
  });
});

describe('ERROR_REPORT.md', () => {
  it('follows the Failed subtasks: kept for an earlier failure, removed once none is left', async () => {
    const manager = await open([[], [0], []]);
    const report = join(manager.currentSession!.metadata.path, 'ERROR_REPORT.md');
    const first = await run(manager, (item) =>
      item.id === 'P1.M1.T1.S1' ? { ok: false, message: 'first failure' } : undefined,
    ).done;
    expect(first.errorReport).toBe('written');
    expect(readFileSync(report, 'utf8')).toContain('first failure');

    // A run that changes nothing about the failure keeps the report as it was.
    manager.updateItemStatus('P1.M1.T1.S3', 'Planned');
    const again = await run(manager, () => undefined, { scope: 'P1.M1.T1.S3' }).done;
    expect(again.failed).toEqual([]);
    expect(again.errorReport).toBe('unchanged');
    expect(readFileSync(report, 'utf8')).toContain('first failure');

    const fixed = await run(manager, () => undefined).done;
    expect(fixed.completed).toEqual(['P1.M1.T1.S1', 'P1.M1.T1.S2']);
    expect(fixed.errorReport).toBe('removed');
    expect(existsSync(report)).toBe(false);
    await manager.close();
  });

  it('blockedSubtasks names only what waits on a failure, also in the middle of a run', async () => {
    const manager = await open([[], [0], [1], [], [3]]);
    manager.updateItemStatus('P1.M1.T1.S1', 'Failed');
    // S2 waits on the failure, S3 on S2 (blocked in turn); S5 waits on S4, which may still run.
    expect([...blockedSubtasks(manager.index).entries()]).toEqual([
      ['P1.M1.T1.S2', ['P1.M1.T1.S1']],
      ['P1.M1.T1.S3', ['P1.M1.T1.S2']],
    ]);
    await manager.close();
  });
});

describe('runCommand', () => {
  it('keeps stdout whole and apart with captureStdout', async () => {
    const result = await runCommand(
      'for i in 1 2 3; do echo "line $i"; done; echo oops >&2; exit 4',
      { captureStdout: true, graceMs: 500 },
    );
    expect(result).toMatchObject({
      exitCode: 4,
      aborted: false,
      stdout: 'line 1\nline 2\nline 3\n',
    });
    expect(result.output).toBe('oops\n');
    expect((await runCommand('echo mixed', { graceMs: 500 })).stdout).toBeNull();
  });

  it('ends the whole group, background children included, when the signal aborts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-command-'));
    dirs.push(dir);
    const pidFile = join(dir, 'bg.pid');
    const controller = new AbortController();
    const running = runCommand(`sleep 60 & echo $! > "${pidFile}"; sleep 60`, {
      signal: controller.signal,
      graceMs: 500,
    });
    await vi.waitFor(
      () => expect(existsSync(pidFile) && readFileSync(pidFile, 'utf8')).toMatch(/\d/),
      {
        timeout: 10_000,
      },
    );
    controller.abort();
    const result = await running;
    expect(result.aborted).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
    expect(stat === '' || / Z /.test(stat)).toBe(true);
  });
});
