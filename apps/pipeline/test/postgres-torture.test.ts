import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPostgresStore, type PostgresStore } from '@savepoint/store-postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createDatabase,
  type TestDatabase,
} from '../../../packages/store-postgres/test/cluster.mjs';
import {
  clusterUrl,
  describePg,
  freshHash,
} from '../../../packages/store-postgres/test/helpers.ts';
import { type CliProcess, readLines, startCli, tempDir, waitFor } from './helpers.ts';

// Acceptance 2 on the built CLI: `savepoint work` processes sharing one backlog in PostgreSQL.
const PROCESSES = 4;
const CONCURRENCY = 4;
const TASKS = 200;
const PER_TASK = 10;
// Heartbeats come every third of the lease: a live worker loses a subtask only if it stalls for
// two thirds of it (6.7 s), far beyond a busy machine's pauses; that would be a finding, not noise.
const LEASE_MS = 10_000;
/**
 * Sets `pid` to the pid of the `savepoint work` process running the command, from its work folder
 * (`.../<host>-<pid>-<slot>`): `$PPID` is 1 for a shell whose parent was killed as it started.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
const WORK_PID = 'w=${SAVEPOINT_SESSION_DIR%-*}; pid=${w##*-}';

describePg('torture: savepoint work, 4 processes x 4 workers on 2,000 subtasks', () => {
  let database: TestDatabase;
  let store: PostgresStore;
  let work: ReturnType<typeof tempDir>;
  const { text, dependencies } = tortureBacklog();
  beforeAll(async () => {
    database = await createDatabase({ url: clusterUrl }, 'torture');
    store = createPostgresStore({ connectionString: database.url });
    work = tempDir();
  });
  afterAll(async () => {
    await store?.close();
    await database?.drop();
    work?.cleanup();
  });

  /** A session of the torture backlog whose stored command logs `start`/`end <id> <work pid>`. */
  async function session(log: string, tasksText = text): Promise<string> {
    writeFileSync(log, '');
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: '# torture\n',
      tasksText,
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    const exec = `${WORK_PID}; echo "start $SAVEPOINT_ITEM_ID $pid" >> '${log}'; echo "end $SAVEPOINT_ITEM_ID $pid" >> '${log}'`;
    await created.handle.writeArtifact('run.json', JSON.stringify({ exec, retries: 0 }));
    await created.handle.release();
    return created.session.id;
  }

  const spawnWork = (id: string, extra: string[] = []): CliProcess =>
    startCli(
      [
        'work',
        '--store',
        database.url,
        '--session',
        id,
        '--concurrency',
        String(CONCURRENCY),
        '--lease-ms',
        String(LEASE_MS),
        ...extra,
      ],
      work.dir,
    );

  it('without kills: every subtask runs exactly once, never before its dependencies ended', async () => {
    const log = join(work.dir, 'calm.log');
    const id = await session(log);
    const started = Date.now();
    const children = Array.from({ length: PROCESSES }, () => spawnWork(id));
    const results = await Promise.all(children.map((child) => child.result));
    expect(
      results.map((result) => result.code),
      results.map((result) => result.stderr).join('\n'),
    ).toEqual([0, 0, 0, 0]);
    const runs = parseLog(readFileSync(log, 'utf8'));
    expect(runs.starts.size).toBe(TASKS * PER_TASK);
    for (const [item, starts] of runs.starts) {
      expect(starts, item).toHaveLength(1);
      expect(runs.ends.get(item), item).toHaveLength(1);
    }
    // The processes shared the work. (Not necessarily all four: on a busy machine one may start
    // late, and how much each gets done is a matter of speed, not of correctness.)
    const pids = new Set([...runs.starts.values()].map((starts) => starts[0]!.pid));
    expect(pids.size).toBeGreaterThanOrEqual(2);
    expect(dependencyViolations(runs, dependencies)).toEqual([]);
    await expectRecordedOnce(store, id);
    console.log(`torture (calm): ${TASKS * PER_TASK} subtasks in ${Date.now() - started} ms`);
  }, 300_000);

  it('with random SIGKILLs and restarts: all Complete, reruns only of what was in flight, one Complete event each', async () => {
    const log = join(work.dir, 'killed.log');
    const id = await session(log);
    const alive = new Set<CliProcess>();
    const finished: (number | string)[] = [];
    const start = (): void => {
      const child = spawnWork(id);
      alive.add(child);
      void child.result.then((result) => {
        alive.delete(child);
        finished.push(result.code ?? result.signal ?? 'unknown');
      });
    };
    for (let k = 0; k < PROCESSES; k++) start();
    let kills = 0;
    const random = mulberry32(20261128);
    // Each kill waits for more subtasks to have started since the last one, so every kill lands
    // in the middle of the run, at a moment set by the work done rather than by the clock.
    while (kills < 6) {
      const target = readLines(log).length + 150 + Math.floor(random() * 250);
      while (readLines(log).length < target && alive.size === PROCESSES) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (alive.size < PROCESSES) break; // the run ended (a process finished) before this kill
      const victims = [...alive];
      const victim = victims[Math.floor(random() * victims.length)]!;
      appendFileSync(log, `kill ${victim.child.pid}\n`);
      victim.child.kill('SIGKILL');
      await victim.result;
      kills++;
      start();
    }
    await Promise.all([...alive].map((child) => child.result));
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(finished.filter((code) => code === 'SIGKILL')).toHaveLength(kills);
    expect(finished.filter((code) => code !== 'SIGKILL').every((code) => code === 0)).toBe(true);

    const runs = parseLog(readFileSync(log, 'utf8'));
    expect(runs.starts.size).toBe(TASKS * PER_TASK);
    const unexplained: string[] = [];
    let reruns = 0;
    for (const [item, starts] of runs.starts) {
      // Every run but the last was in flight in a process that was killed. Its start line may
      // come after the kill line: a command spawned just before the kill outlives its parent.
      for (const run of starts.slice(0, -1)) {
        reruns++;
        if (!runs.kills.has(run.pid)) unexplained.push(`${item} by ${run.pid}`);
      }
      const last = starts.at(-1)!;
      const ended = (runs.ends.get(item) ?? []).some(
        (end) => end.pid === last.pid && end.at > last.at,
      );
      if (!ended) unexplained.push(`${item}: its last run never ended`);
    }
    expect(unexplained).toEqual([]);
    expect(dependencyViolations(runs, dependencies)).toEqual([]);
    await expectRecordedOnce(store, id);
    console.log(
      `torture (kills): ${kills} kills, ${reruns} reruns of subtasks in flight at a kill`,
    );
  }, 300_000);

  it('a worker paused (SIGSTOP) past its lease cannot record: it stops its command and says so', async () => {
    const log = join(work.dir, 'paused.log');
    const one = tortureBacklog(1, 1).text;
    const id = await session(log, one);
    const first = join(work.dir, 'first-run');
    // The first run of the subtask sleeps; the one after it does not.
    const exec = `${WORK_PID}; echo "start $SAVEPOINT_ITEM_ID $pid" >> '${log}'; if mkdir '${first}' 2>/dev/null; then sleep 60; fi; echo "end $SAVEPOINT_ITEM_ID $pid" >> '${log}'`;
    const options = ['--concurrency', '1', '--exec', exec, '--json'];
    // A short lease for the worker to be paused; the other keeps the default 30 s, so on a busy
    // machine a slow heartbeat cannot cost it the subtask it is meant to record.
    const paused = startCli(
      ['work', '--store', database.url, '--session', id, '--lease-ms', '1000', ...options],
      work.dir,
    );
    await waitFor(() => readLines(log).length === 1, 60_000, 'the first run to start');
    paused.child.kill('SIGSTOP');
    let other: CliProcess | undefined;
    try {
      // Another worker takes the subtask once the paused worker's lease has expired.
      other = startCli(['work', '--store', database.url, '--session', id, ...options], work.dir);
      const second = await other.result;
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({
        completed: 1,
        thisProcess: { completed: 1 },
      });
    } finally {
      paused.child.kill('SIGCONT');
    }
    const result = await paused.result;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('P1.M1.T1.S1: lease lost by');
    expect(JSON.parse(result.stdout)).toMatchObject({
      thisProcess: { completed: 0, failed: [], lost: ['P1.M1.T1.S1'] },
    });
    // The paused worker's command was stopped: it never ended its run.
    const lines = readLines(log);
    expect(lines).toEqual([
      `start P1.M1.T1.S1 ${paused.child.pid}`,
      `start P1.M1.T1.S1 ${other!.child.pid}`,
      `end P1.M1.T1.S1 ${other!.child.pid}`,
    ]);
    const records = (await store.events(id)).filter((event) => event.kind === 'record');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ to: 'Complete' });
    expect(records[0]!.workerId).toMatch(new RegExp(`/${other!.child.pid}/1$`));
  }, 120_000);
});

interface Run {
  readonly pid: number;
  readonly at: number;
}

function parseLog(text: string) {
  const starts = new Map<string, Run[]>();
  const ends = new Map<string, Run[]>();
  const kills = new Map<number, number>();
  text.split('\n').forEach((line, at) => {
    const [what, a, b] = line.split(' ');
    if (what === 'kill') kills.set(Number(a), at);
    else if (what === 'start' || what === 'end') {
      const map = what === 'start' ? starts : ends;
      const list = map.get(a!) ?? [];
      list.push({ pid: Number(b), at });
      map.set(a!, list);
    }
  });
  return { starts, ends, kills };
}

/** Runs that started before every dependency (a container: each of its subtasks) had ended. */
function dependencyViolations(
  runs: ReturnType<typeof parseLog>,
  dependencies: Map<string, string[]>,
): string[] {
  const firstEnd = new Map<string, number>();
  for (const [item, ends] of runs.ends) firstEnd.set(item, Math.min(...ends.map((end) => end.at)));
  const violations: string[] = [];
  for (const [item, starts] of runs.starts) {
    for (const start of starts) {
      for (const dep of dependencies.get(item) ?? []) {
        const ended = firstEnd.get(dep);
        if (ended === undefined || ended > start.at)
          violations.push(`${item} started before ${dep} ended`);
      }
    }
  }
  return violations;
}

/** Exactly one recorded Complete per subtask, and the whole backlog Complete. */
async function expectRecordedOnce(store: PostgresStore, id: string): Promise<void> {
  const completes = new Map<string, number>();
  for (const event of await store.events(id)) {
    if (event.kind === 'record' && event.to === 'Complete') {
      completes.set(event.itemId, (completes.get(event.itemId) ?? 0) + 1);
    }
  }
  expect(completes.size).toBe(TASKS * PER_TASK);
  expect([...completes.entries()].filter(([, count]) => count !== 1)).toEqual([]);
  const exported = JSON.parse(await store.exportTasks(id));
  expect(exported.backlog[0].status).toBe('Complete');
}

/**
 * `tasks` tasks of `perTask` subtasks under one phase and milestone. Dependencies point
 * backwards only: on the previous subtask of the task, on a whole earlier task, or on one
 * subtask of an earlier task.
 *
 * @returns the text and, per subtask, the subtasks it waits for (a task expanded to its subtasks)
 */
function tortureBacklog(
  tasks = TASKS,
  perTask = PER_TASK,
): { text: string; dependencies: Map<string, string[]> } {
  const random = mulberry32(7);
  const sub = (t: number, s: number) => `P1.M1.T${t}.S${s}`;
  const dependencies = new Map<string, string[]>();
  const box = (type: string, id: string) => ({
    type,
    id,
    title: `${type} ${id}`,
    status: 'Planned',
    description: id,
  });
  const taskList = [];
  for (let t = 1; t <= tasks; t++) {
    const subtaskList = [];
    for (let s = 1; s <= perTask; s++) {
      const deps: string[] = [];
      const waits: string[] = [];
      if (s > 1 && random() < 0.6) {
        deps.push(sub(t, s - 1));
        waits.push(sub(t, s - 1));
      }
      if (t > 1 && random() < 0.08) {
        const earlier = 1 + Math.floor(random() * (t - 1));
        deps.push(`P1.M1.T${earlier}`);
        for (let k = 1; k <= perTask; k++) waits.push(sub(earlier, k));
      }
      if (t > 1 && random() < 0.15) {
        const dep = sub(1 + Math.floor(random() * (t - 1)), 1 + Math.floor(random() * perTask));
        if (!waits.includes(dep)) {
          deps.push(dep);
          waits.push(dep);
        }
      }
      dependencies.set(sub(t, s), waits);
      subtaskList.push({
        ...box('Subtask', sub(t, s)),
        story_points: 1,
        dependencies: deps,
        context_scope: 'torture',
      });
    }
    taskList.push({ ...box('Task', `P1.M1.T${t}`), subtasks: subtaskList });
  }
  const backlog = {
    backlog: [
      { ...box('Phase', 'P1'), milestones: [{ ...box('Milestone', 'P1.M1'), tasks: taskList }] },
    ],
  };
  return { text: `${JSON.stringify(backlog, null, 2)}\n`, dependencies };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
