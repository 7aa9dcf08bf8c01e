import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.ts';
import {
  buildFixture,
  type Child,
  describePg,
  freshHash,
  freshSchema,
  startChild,
  useDatabase,
} from './helpers.ts';
import {
  dependencyViolations,
  expectRecordedOnce,
  mulberry32,
  parseLog,
  tortureBacklog,
} from './torture-shared.ts';

// Acceptance 2, with worker processes on the package's API (apps/pipeline's
// postgres-torture.test.ts runs the same with `savepoint work` processes): 4 processes x 4 concurrent claims on a 2,000-subtask backlog with dependencies, a
// fast worker logging `start <id> <pid>` / `end <id> <pid>`, once without kills and once with
// random SIGKILLs and restarts.
const PROCESSES = 4;
const CONCURRENCY = 4;
const TASKS = 200;
const PER_TASK = 10;
// Heartbeats every third of the lease: a live worker loses its lease only if it stalls for two
// thirds of it (6.7 s, far beyond a busy CI machine's pauses), which would be a finding, not noise.
const LEASE_MS = 10_000;

describePg('torture: 16 workers in 4 processes on 2,000 subtasks', () => {
  const database = useDatabase();
  let store: PostgresStore;
  let worker: string;
  let dir: string;
  const { text, dependencies } = tortureBacklog(TASKS, PER_TASK);
  beforeAll(async () => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('torture') });
    worker = await buildFixture('worker');
    dir = mkdtempSync(join(tmpdir(), 'savepoint-torture-'));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    if (worker) rmSync(worker, { force: true });
  });

  async function session(): Promise<string> {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText: text,
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    await created.handle.release();
    return created.session.id;
  }

  const spawnWorker = (id: string, log: string): Child =>
    startChild(worker, {
      mode: 'work',
      url: database.url,
      schema: store.schema,
      session: id,
      leaseMs: LEASE_MS,
      concurrency: CONCURRENCY,
      log,
    });

  it('without kills: every subtask runs exactly once, never before its dependencies ended', async () => {
    const id = await session();
    const log = join(dir, 'calm.log');
    appendFileSync(log, '');
    const children = Array.from({ length: PROCESSES }, () => spawnWorker(id, log));
    const codes = await Promise.all(children.map((child) => child.exited));
    expect(codes, children.map((child) => child.output()).join('\n')).toEqual([0, 0, 0, 0]);
    const runs = parseLog(readFileSync(log, 'utf8'));
    expect(runs.starts.size).toBe(TASKS * PER_TASK);
    for (const [item, starts] of runs.starts) {
      expect(starts, item).toHaveLength(1);
      expect(runs.ends.get(item), item).toHaveLength(1);
    }
    expect(dependencyViolations(runs, dependencies)).toEqual([]);
    await expectRecordedOnce(store, id, TASKS * PER_TASK);
  }, 300_000);

  it('with random SIGKILLs and restarts: all Complete, reruns only of what was in flight, one Complete event each', async () => {
    const id = await session();
    const log = join(dir, 'killed.log');
    appendFileSync(log, '');
    const alive = new Set<Child>();
    const finished: (number | string)[] = [];
    const start = (): void => {
      const child = spawnWorker(id, log);
      alive.add(child);
      void child.exited.then((code) => {
        alive.delete(child);
        finished.push(code);
      });
    };
    for (let k = 0; k < PROCESSES; k++) start();
    let kills = 0;
    const random = mulberry32(20261128);
    // Kill at random moments while work remains: each kill waits for more subtasks to have
    // started since the last one, so every kill lands in the middle of the run.
    while (kills < 8) {
      const target = countLines(log) + 100 + Math.floor(random() * 200);
      while (countLines(log) < target && alive.size === PROCESSES) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (alive.size < PROCESSES) break; // the run ended (a worker finished) before this kill
      const victims = [...alive];
      const victim = victims[Math.floor(random() * victims.length)]!;
      victim.process.kill('SIGKILL');
      await victim.exited;
      // Logged once the victim is dead: every start it logged comes before this line (logged
      // before the signal, a start written in between would look like a run after the kill).
      appendFileSync(log, `kill ${victim.process.pid}\n`);
      kills++;
      start();
    }
    await Promise.all([...alive].map((child) => child.exited));
    expect(kills).toBeGreaterThanOrEqual(4);
    expect(finished.filter((code) => code === 'SIGKILL')).toHaveLength(kills);
    expect(finished.filter((code) => code !== 'SIGKILL').every((code) => code === 0)).toBe(true);

    const runs = parseLog(readFileSync(log, 'utf8'));
    expect(runs.starts.size).toBe(TASKS * PER_TASK);
    const unexplained: string[] = [];
    let reruns = 0;
    for (const [item, starts] of runs.starts) {
      // Every run but the last was cut short by a kill of its process while it was in flight.
      for (const run of starts.slice(0, -1)) {
        reruns++;
        const killedAt = runs.kills.get(run.pid);
        if (killedAt === undefined || killedAt < run.at) unexplained.push(`${item} by ${run.pid}`);
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
    console.log(`torture: ${kills} kills, ${reruns} reruns of subtasks in flight at a kill`);
  }, 300_000);
});

function countLines(file: string): number {
  let lines = 0;
  const text = readFileSync(file, 'utf8');
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) === 10) lines++;
  return lines;
}
