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
import {
  dependencyViolations,
  expectRecordedOnce,
  mulberry32,
  parseLog,
  tortureBacklog,
} from '../../../packages/store-postgres/test/torture-shared.ts';
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
  const { text, dependencies } = tortureBacklog(TASKS, PER_TASK);
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
    await expectRecordedOnce(store, id, TASKS * PER_TASK);
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
      victim.child.kill('SIGKILL');
      await victim.result;
      // Logged once the victim is dead: every start it logged comes before this line (logged
      // before the signal, a start written in between would look like a run after the kill).
      appendFileSync(log, `kill ${victim.child.pid}\n`);
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
    await expectRecordedOnce(store, id, TASKS * PER_TASK);
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
