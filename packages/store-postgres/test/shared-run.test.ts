import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandWorker, GROUPS_FILE } from '@savepoint/runner';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStore, workSharedSession } from '../src/index.ts';
import { describePg, freshHash, freshSchema, makeBacklog, useDatabase } from './helpers.ts';

describePg('workSharedSession', () => {
  const database = useDatabase();
  let store: PostgresStore;
  let dir: string;
  const children: ChildProcess[] = [];
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('shared') });
    dir = mkdtempSync(join(tmpdir(), 'savepoint-shared-'));
  });
  afterAll(async () => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works a session as several slots, each recording under its own worker id, after ending what a dead process of this host left', async () => {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText: makeBacklog([[{}, { dependencies: ['P1.M1.T1.S1'] }, {}, {}]]),
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    await created.handle.release();
    const id = created.session.id;

    // A killed work process of this host (its pid is gone) left a command running.
    const workDir = join(dir, 'workers');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(gone.stdout);
    const leftover = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH, SAVEPOINT_RUN_TOKEN: 'left-by-the-dead' },
    });
    children.push(leftover);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const stat = readFileSync(`/proc/${leftover.pid}/stat`, 'utf8');
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    const deadFolder = join(workDir, `${hostname()}-${deadPid}-1`);
    mkdirSync(deadFolder, { recursive: true });
    writeFileSync(
      join(deadFolder, GROUPS_FILE),
      JSON.stringify({
        token: 'left-by-the-dead',
        runnerPid: deadPid,
        groups: [{ pgid: leftover.pid, startTime, item: 'P1.M1.T1.S1' }],
      }),
    );
    const exited = new Promise((resolve) => leftover.once('exit', resolve));

    const log = join(dir, 'log');
    writeFileSync(log, '');
    const events: string[] = [];
    const work = workSharedSession({
      store,
      session: id,
      worker: commandWorker(`echo "$SAVEPOINT_ITEM_ID $SAVEPOINT_SESSION_DIR" >> '${log}'`),
      workerId: 'test-host/1',
      concurrency: 2,
      workDir,
      leaseMs: 10_000,
      onEvent: (event, worker) => {
        if (event.type === 'finished') events.push(`${worker} ${event.item.id}`);
      },
    });
    const summary = await work.run();
    await exited;
    expect(summary.reaped).toBeGreaterThanOrEqual(1);
    expect(summary.completed.sort()).toEqual([1, 2, 3, 4].map((s) => `P1.M1.T1.S${s}`));
    expect(summary).toMatchObject({ failed: [], lost: [], interrupted: false });
    expect(summary.counts.Complete).toBe(4);
    const records = (await store.events(id)).filter((event) => event.kind === 'record');
    expect(records).toHaveLength(4);
    for (const record of records) expect(record.workerId).toMatch(/^test-host\/1\/[12]$/);
    // Each slot has its own folder, named after this host and process.
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    for (const line of lines) {
      expect(line).toMatch(new RegExp(`${join(workDir, `${hostname()}-${process.pid}-`)}[12]$`));
    }
    expect(events).toHaveLength(4);
  });

  it('rejects malformed options', () => {
    const base = {
      store,
      session: '001_aaaaaaaaaaaa',
      worker: () => undefined,
      workerId: 'w',
      workDir: dir,
    };
    expect(() => workSharedSession({ ...base, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => workSharedSession({ ...base, workDir: '' })).toThrow(/workDir/);
  });
});
