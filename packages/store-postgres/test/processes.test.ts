import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { createPostgresStore, type PostgresStore } from '../src/index.ts';
import {
  buildFixture,
  describePg,
  freshHash,
  freshSchema,
  makeBacklog,
  startChild,
  useDatabase,
} from './helpers.ts';

describePg('PostgreSQL store: workers in other processes', () => {
  const database = useDatabase();
  let store: PostgresStore;
  let worker: string;
  beforeAll(async () => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('proc') });
    worker = await buildFixture('worker');
  });
  afterAll(async () => {
    await store.close();
    if (worker) rmSync(worker, { force: true });
  });

  async function session(tasksText: string): Promise<string> {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText,
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    await created.handle.release();
    return created.session.id;
  }

  const settings = (id: string, extra: object) => ({
    url: database.url,
    schema: store.schema,
    session: id,
    ...extra,
  });

  /** Sleeps on the database until the item's lease has expired by its clock. */
  async function pastLease(id: string, item: string): Promise<void> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(
        `SELECT pg_sleep(greatest(0, extract(epoch FROM lease_expires_at - clock_timestamp())) + 0.01)
           FROM "${store.schema}".items WHERE session_id = $1 AND id = $2`,
        [id, item],
      );
    } finally {
      await client.end();
    }
  }

  it('a worker paused (SIGSTOP) past its lease cannot record its outcome', async () => {
    const id = await session(makeBacklog([[{}]]));
    const paused = startChild(worker, settings(id, { mode: 'hold', leaseMs: 1500 }));
    const claimed = await paused.line(/^claimed /);
    const item = claimed.split(' ')[1]!;
    paused.process.kill('SIGSTOP');
    try {
      await pastLease(id, item);
      const claims = await store.join(id);
      const taken = await claims.claimNext({ workerId: 'other', leaseMs: 30_000 });
      expect(taken).toMatchObject({ itemId: item, attempt: 2 });
      paused.process.kill('SIGCONT');
      // Its next heartbeat finds the lease gone; its outcome is refused.
      await paused.line(/^lost /);
      paused.process.stdin!.write('record\n');
      expect(await paused.line(/^recorded /)).toBe('recorded false');
      expect(await paused.exited).toBe(0);
      expect(await claims.record(taken!, { status: 'Complete' })).toEqual({ recorded: true });
    } finally {
      paused.process.kill('SIGCONT');
      paused.process.kill('SIGKILL');
    }
    const events = await store.events(id);
    expect(events.filter((e) => e.kind === 'record').map((e) => [e.to, e.workerId])).toEqual([
      ['Complete', 'other'],
    ]);
  });

  it("a SIGKILLed worker's subtask is claimable again once its lease expires, not before", async () => {
    const id = await session(makeBacklog([[{}]]));
    const doomed = startChild(worker, settings(id, { mode: 'hold', leaseMs: 5000 }));
    const item = (await doomed.line(/^claimed /)).split(' ')[1]!;
    doomed.process.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    const claims = await store.join(id);
    // The lease still runs (5 s is far beyond the time this takes on any machine).
    expect(await claims.claimNext({ workerId: 'other', leaseMs: 30_000 })).toBeNull();
    await pastLease(id, item);
    const again = await claims.claimNext({ workerId: 'other', leaseMs: 30_000 });
    expect(again).toMatchObject({ itemId: item, attempt: 2 });
    const events = await store.events(id);
    expect(events.filter((e) => e.itemId === item).map((e) => e.kind)).toEqual([
      'claim',
      'expire',
      'claim',
    ]);
    // Its task, milestone and phase follow it each time.
    expect(events.filter((e) => e.kind === 'rollup')).toHaveLength(9);
  });

  it("SIGTERM gives a worker's subtasks back at once", async () => {
    const id = await session(makeBacklog([[{}, {}, {}, {}]]));
    // The worker's log goes in a folder of this test's own, removed when it ends.
    const dir = mkdtempSync(join(tmpdir(), 'savepoint-term-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, 'worker.log');
    // A long lease and a slow worker: only the clean release can give the items back in time.
    const child = startChild(
      worker,
      settings(id, { mode: 'work', leaseMs: 600_000, concurrency: 4, log, workMs: 60_000 }),
    );
    const claims = await store.join(id);
    let gone = false;
    void child.exited.then(() => {
      gone = true;
    });
    // Wait until all four are held.
    for (;;) {
      if (gone) throw new Error('the worker exited before holding four subtasks');
      const counts = await claims.countByStatus();
      if (counts.Implementing === 4) break;
      await claims.waitForWork({ timeoutMs: 100 });
    }
    child.process.kill('SIGTERM');
    expect(await child.line(/^released /)).toBe('released 4');
    expect(await child.exited).toBe(143);
    expect((await claims.countByStatus()).Planned).toBe(4);
    const next = await claims.claimNext({ workerId: 'other', leaseMs: 30_000 });
    expect(next).toMatchObject({ itemId: 'P1.M1.T1.S1', attempt: 2 });
  });

  it('many connections claiming at once never get the same subtask', async () => {
    const id = await session(
      makeBacklog(Array.from({ length: 20 }, () => Array.from({ length: 10 }, () => ({})))),
    );
    const stores = Array.from({ length: 8 }, () =>
      createPostgresStore({
        connectionString: database.url,
        schema: store.schema,
        maxConnections: 4,
      }),
    );
    try {
      const got: string[] = [];
      await Promise.all(
        stores.flatMap((other, s) =>
          Array.from({ length: 3 }, async (_, n) => {
            const claims = await other.join(id);
            for (;;) {
              const claim = await claims.claimNext({ workerId: `${s}/${n}`, leaseMs: 30_000 });
              if (!claim) return;
              got.push(claim.itemId);
              expect(await claims.record(claim, { status: 'Complete' })).toEqual({
                recorded: true,
              });
            }
          }),
        ),
      );
      expect(got).toHaveLength(200);
      expect(new Set(got).size).toBe(200);
      const events = await store.events(id);
      expect(events.filter((e) => e.kind === 'claim')).toHaveLength(200);
      expect(events.filter((e) => e.kind === 'record' && e.to === 'Complete')).toHaveLength(200);
    } finally {
      await Promise.all(stores.map((other) => other.close()));
    }
  });
});
