import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, type PostgresClaims, type PostgresStore } from '../src/index.ts';
import { describePg, freshHash, freshSchema, makeBacklog, useDatabase } from './helpers.ts';

describePg('PostgreSQL store: claims', () => {
  const database = useDatabase();
  let store: PostgresStore;
  const schema = freshSchema('claims');
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema });
  });
  afterAll(async () => {
    await store.close();
  });

  /** A new session of `tasksText`, released by its creator, joined as workers. */
  async function session(tasksText: string): Promise<{ id: string; claims: PostgresClaims }> {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText,
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    await created.handle.release();
    return { id: created.session.id, claims: await store.join(created.session.id) };
  }

  const lease = { leaseMs: 30_000 };

  it('claims in depth-first order, only what is ready, each subtask once', async () => {
    // T1.S2 waits for T1.S1; T2.S1 waits for the whole task T1.
    const { id, claims } = await session(
      makeBacklog([[{}, { dependencies: ['P1.M1.T1.S1'] }], [{ dependencies: ['P1.M1.T1'] }]]),
    );
    const first = await claims.claimNext({ workerId: 'w1', ...lease });
    expect(first?.itemId).toBe('P1.M1.T1.S1');
    expect(first?.attempt).toBe(1);
    expect(first?.item).toMatchObject({
      id: 'P1.M1.T1.S1',
      status: 'Implementing',
      title: 'Subtask 1.1',
    });
    // Everything else waits for S1.
    expect(await claims.claimNext({ workerId: 'w2', ...lease })).toBeNull();
    expect(await claims.record(first!, { status: 'Complete' })).toEqual({ recorded: true });
    const second = await claims.claimNext({ workerId: 'w2', ...lease });
    expect(second?.itemId).toBe('P1.M1.T1.S2');
    // T2.S1 depends on the task T1, which is done only when all its subtasks are.
    expect(await claims.claimNext({ workerId: 'w1', ...lease })).toBeNull();
    await claims.record(second!, { status: 'Complete' });
    const third = await claims.claimNext({ workerId: 'w1', ...lease });
    expect(third?.itemId).toBe('P1.M1.T2.S1');
    await claims.record(third!, { status: 'Complete' });
    expect(await claims.claimNext({ workerId: 'w1', ...lease })).toBeNull();

    const exported = JSON.parse(await store.exportTasks(id));
    // Containers roll up as the file format expects.
    expect(exported.backlog[0].status).toBe('Complete');
    expect(
      exported.backlog[0].milestones[0].tasks.map((t: { status: string }) => t.status),
    ).toEqual(['Complete', 'Complete']);
    const events = await store.events(id);
    expect(events.map((e) => [e.itemId, e.kind, e.from, e.to, e.workerId, e.attempt])).toEqual([
      // A container's status that follows from a change is an event of that change's worker.
      ['P1.M1.T1.S1', 'claim', 'Planned', 'Implementing', 'w1', 1],
      ['P1.M1.T1', 'rollup', 'Planned', 'Implementing', 'w1', 1],
      ['P1.M1', 'rollup', 'Planned', 'Implementing', 'w1', 1],
      ['P1', 'rollup', 'Planned', 'Implementing', 'w1', 1],
      ['P1.M1.T1.S1', 'record', 'Implementing', 'Complete', 'w1', 1],
      ['P1.M1.T1.S2', 'claim', 'Planned', 'Implementing', 'w2', 1],
      ['P1.M1.T1.S2', 'record', 'Implementing', 'Complete', 'w2', 1],
      ['P1.M1.T1', 'rollup', 'Implementing', 'Complete', 'w2', 1],
      ['P1.M1.T2.S1', 'claim', 'Planned', 'Implementing', 'w1', 1],
      ['P1.M1.T2', 'rollup', 'Planned', 'Implementing', 'w1', 1],
      ['P1.M1.T2.S1', 'record', 'Implementing', 'Complete', 'w1', 1],
      ['P1.M1.T2', 'rollup', 'Implementing', 'Complete', 'w1', 1],
      ['P1.M1', 'rollup', 'Implementing', 'Complete', 'w1', 1],
      ['P1', 'rollup', 'Implementing', 'Complete', 'w1', 1],
    ]);
  });

  it('treats Obsolete as done, never claims Failed or Complete nor what waits on Failed', async () => {
    const { claims } = await session(
      makeBacklog([
        [
          { status: 'Obsolete' },
          { dependencies: ['P1.M1.T1.S1'] },
          { status: 'Failed' },
          { dependencies: ['P1.M1.T1.S3'] },
          { status: 'Complete' },
        ],
      ]),
    );
    const got = await claims.claimNext({ workerId: 'w', ...lease });
    expect(got?.itemId).toBe('P1.M1.T1.S2');
    expect(await claims.claimNext({ workerId: 'w', ...lease })).toBeNull();
  });

  it('keeps to a scope and passes over skipped subtasks', async () => {
    const { claims } = await session(
      makeBacklog([
        [{}, {}],
        [{}, {}],
      ]),
    );
    const scoped = await claims.claimNext({ workerId: 'w', ...lease, scope: 'P1.M1.T2' });
    expect(scoped?.itemId).toBe('P1.M1.T2.S1');
    const skipped = await claims.claimNext({ workerId: 'w', ...lease, skip: ['P1.M1.T1.S1'] });
    expect(skipped?.itemId).toBe('P1.M1.T1.S2');
    expect(await claims.claimNext({ workerId: 'w', ...lease, scope: 'P1.M1.T2.S1' })).toBeNull();
    expect(await claims.claimNext({ workerId: 'w', ...lease, scope: 'P7' })).toBeNull();
  });

  it('fences outcomes by the lease: an expired lease cannot record, and is given back', async () => {
    const { id, claims } = await session(makeBacklog([[{}]]));
    const short = await claims.claimNext({ workerId: 'slow', leaseMs: 200 });
    expect(short).not.toBeNull();
    const renewed = await claims.renew(short!, 200);
    expect(renewed!.expiresAt.getTime()).toBeGreaterThanOrEqual(short!.expiresAt.getTime());
    // Past the lease on the database clock (waited for there, not guessed here).
    await waitUntilExpired(store, database.url, id);
    expect(await claims.renew(short!, 30_000)).toBeNull();
    expect(await claims.record(short!, { status: 'Complete' })).toEqual({
      recorded: false,
      reason: 'lease-lost',
    });
    expect(await claims.releaseExpired()).toEqual(['P1.M1.T1.S1']);
    const again = await claims.claimNext({ workerId: 'fast', ...lease });
    expect(again).toMatchObject({ itemId: 'P1.M1.T1.S1', attempt: 2 });
    expect(again!.token).not.toBe(short!.token);
    // The old claim stays fenced even now that the item is held again.
    expect(await claims.record(short!, { status: 'Complete' })).toMatchObject({ recorded: false });
    expect(await claims.record(again!, { status: 'Complete' })).toEqual({ recorded: true });
    expect(await claims.record(again!, { status: 'Complete' })).toMatchObject({ recorded: false });
    const kinds = (await store.events(id)).map((e) => [e.kind, e.to, e.workerId, e.attempt]);
    // The only subtask decides its task, milestone and phase: each change rolls up all three.
    const withRollUps = (event: unknown[]) => [
      event,
      ...Array.from({ length: 3 }, () => ['rollup', ...event.slice(1)]),
    ];
    expect(kinds).toEqual([
      ...withRollUps(['claim', 'Implementing', 'slow', 1]),
      ...withRollUps(['expire', 'Planned', 'slow', 1]),
      ...withRollUps(['claim', 'Implementing', 'fast', 2]),
      ...withRollUps(['record', 'Complete', 'fast', 2]),
    ]);
  });

  it("gives a worker's leases back at once on a clean shutdown, and one lease on abandon", async () => {
    const { id, claims } = await session(makeBacklog([[{}, {}, {}]]));
    const a = await claims.claimNext({ workerId: 'a', ...lease });
    const b = await claims.claimNext({ workerId: 'b', ...lease });
    const c = await claims.claimNext({ workerId: 'b', ...lease });
    expect(await claims.abandon(a!)).toBe(true);
    expect(await claims.abandon(a!)).toBe(false);
    expect((await claims.releaseAll(['b'])).sort()).toEqual([b!.itemId, c!.itemId].sort());
    expect(await claims.record(b!, { status: 'Complete' })).toMatchObject({ recorded: false });
    const exported = JSON.parse(await store.exportTasks(id));
    const subtasks = exported.backlog[0].milestones[0].tasks[0].subtasks;
    expect(subtasks.map((s: { status: string }) => s.status)).toEqual([
      'Planned',
      'Planned',
      'Planned',
    ]);
    expect(exported.backlog[0].milestones[0].tasks[0].status).toBe('Planned');
    // The task and its ancestors go back to Planned with the last subtask given back.
    expect(
      (await store.events(id)).filter((e) => e.to === 'Planned').map((e) => [e.itemId, e.kind]),
    ).toEqual([
      [a!.itemId, 'abandon'],
      [b!.itemId, 'release'],
      [c!.itemId, 'release'],
      ['P1.M1.T1', 'rollup'],
      ['P1.M1', 'rollup'],
      ['P1', 'rollup'],
    ]);
  });

  it('holds a Retrying subtask back until its backoff has passed', async () => {
    const { claims } = await session(makeBacklog([[{}]]));
    const first = await claims.claimNext({ workerId: 'w', ...lease });
    await claims.record(first!, { status: 'Retrying', retryDelayMs: 60_000 });
    expect(await claims.claimNext({ workerId: 'w', ...lease })).toBeNull();
    const other = await session(makeBacklog([[{}]]));
    const once = await other.claims.claimNext({ workerId: 'w', ...lease });
    await other.claims.record(once!, { status: 'Retrying', retryDelayMs: 0 });
    expect(await other.claims.claimNext({ workerId: 'w', ...lease })).toMatchObject({ attempt: 2 });
  });

  it('wakes a waiting worker by notification when a dependency completes', async () => {
    const { id, claims } = await session(makeBacklog([[{}, { dependencies: ['P1.M1.T1.S1'] }]]));
    const first = await claims.claimNext({ workerId: 'a', ...lease });
    const waiter = createPostgresStore({
      connectionString: database.url,
      schema: store.schema,
      // A poll far beyond the test's time: only a notification ends the wait in time.
      pollIntervalMs: 10 * 60_000,
    });
    try {
      const waiting = await waiter.join(id);
      expect(await waiting.claimNext({ workerId: 'b', ...lease })).toBeNull();
      const woke = waiting.waitForWork();
      await claims.record(first!, { status: 'Complete' });
      expect(await woke).toBe('notified');
      expect(await waiting.claimNext({ workerId: 'b', ...lease })).toMatchObject({
        itemId: 'P1.M1.T1.S2',
      });
    } finally {
      await waiter.close();
    }
  });

  it('a claim waits for a roll-up under the same containers, then rolls them up again', async () => {
    // A lease given back while its sibling is being claimed: the give-back rolls the task, the
    // milestone and the phase back to Planned. A claim that went by what its snapshot showed
    // (Implementing, before the give-back committed) left them Planned over its Implementing
    // subtask until that subtask's next change.
    const { id, claims } = await session(makeBacklog([[{}, {}]]));
    const first = await claims.claimNext({ workerId: 'a', ...lease });
    const giver = new pg.Client({ connectionString: database.url });
    await giver.connect();
    let claimed: ReturnType<PostgresClaims['claimNext']> | undefined;
    try {
      // The give-back has run its roll-up, and holds the containers' rows, uncommitted.
      await giver.query('BEGIN');
      await giver.query(`SELECT "${schema}".give_back($1, 'abandon', NULL, $2::uuid)`, [
        id,
        first!.token,
      ]);
      let settled = false;
      claimed = claims.claimNext({ workerId: 'c', ...lease });
      claimed.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The event: the claim is waiting for a lock (the give-back's rows).
      for (;;) {
        expect(settled, 'the claim finished without waiting for the give-back').toBe(false);
        const { rows } = await giver.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND query LIKE '%WITH picked AS%'`,
        );
        if (rows[0]!.waiting > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await giver.query('COMMIT');
      expect((await claimed)?.itemId).toBe('P1.M1.T1.S2');
    } finally {
      await giver.query('ROLLBACK').catch(() => undefined);
      await claimed?.catch(() => undefined);
      await giver.end();
    }
    const exported = JSON.parse(await store.exportTasks(id));
    const phase = exported.backlog[0];
    const task = phase.milestones[0].tasks[0];
    expect([phase.status, phase.milestones[0].status, task.status]).toEqual([
      'Implementing',
      'Implementing',
      'Implementing',
    ]);
    expect(task.subtasks.map((s: { status: string }) => s.status)).toEqual([
      'Planned',
      'Implementing',
    ]);
    const last = (await store.events(id))
      .slice(-4)
      .map((e) => [e.kind, e.itemId, e.to, e.workerId]);
    expect(last).toEqual([
      ['claim', 'P1.M1.T1.S2', 'Implementing', 'c'],
      ['rollup', 'P1.M1.T1', 'Implementing', 'c'],
      ['rollup', 'P1.M1', 'Implementing', 'c'],
      ['rollup', 'P1', 'Implementing', 'c'],
    ]);
  });

  it('falls back to polling: a wait without a notification ends at the poll interval', async () => {
    const { claims } = await session(makeBacklog([[{ status: 'Complete' }]]));
    expect(await claims.claimNext({ workerId: 'w', ...lease })).toBeNull();
    expect(await claims.waitForWork({ timeoutMs: 50 })).toBe('timeout');
    const aborted = new AbortController();
    aborted.abort();
    expect(await claims.waitForWork({ signal: aborted.signal })).toBe('aborted');
    // More than a timer holds: setTimeout would fire after 1 ms, so the wait would end at once.
    const stop = new AbortController();
    const long = claims.waitForWork({ timeoutMs: 3_000_000_000, signal: stop.signal });
    const later = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 50));
    expect(await Promise.race([long, later])).toBe('still waiting');
    stop.abort();
    expect(await long).toBe('aborted');
  });

  it("a holder's load and compaction see the workers' changes; a held subtask keeps its status", async () => {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText: makeBacklog([[{}, {}]]),
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    const { handle } = created;
    const claims = await store.join(handle.summary.id);
    const done = await claims.claimNext({ workerId: 'w', ...lease });
    await claims.record(done!, { status: 'Complete' });
    const held = await claims.claimNext({ workerId: 'w', ...lease });
    const loaded = await handle.load();
    expect(loaded.changes).toEqual([]);
    const statuses = (text: string) =>
      JSON.parse(text).backlog[0].milestones[0].tasks[0].subtasks.map(
        (subtask: { status: string }) => subtask.status,
      );
    expect(statuses(loaded.snapshotText)).toEqual(['Complete', 'Implementing']);
    // A compaction from a stale view leaves the subtask a worker holds as it is.
    await handle.compact({ text: makeBacklog([[{ status: 'Complete' }, {}]]), sequence: 0 });
    expect(statuses(await store.exportTasks(handle.summary.id))).toEqual([
      'Complete',
      'Implementing',
    ]);
    expect(await claims.record(held!, { status: 'Complete' })).toEqual({ recorded: true });
    await handle.release();
  });

  it("a stale holder never undoes the workers' outcomes nor takes a held subtask away", async () => {
    const created = await store.create({
      hash: freshHash(),
      prdSnapshot: 'prd',
      tasksText: makeBacklog([[{}, {}]]),
      parentSession: null,
    });
    if (created.status !== 'created') throw new Error('not created');
    const { handle } = created;
    const stale = (await handle.load()).snapshotText;
    const claims = await store.join(handle.summary.id);
    const first = await claims.claimNext({ workerId: 'w', ...lease });
    await claims.record(first!, { status: 'Complete' });
    const second = await claims.claimNext({ workerId: 'w', ...lease });
    // What a holder's recovery of in-flight items would write, without having seen the claim.
    await handle.append({ sequence: 1, statuses: [{ id: second!.itemId, status: 'Planned' }] });
    expect(await claims.record(second!, { status: 'Complete' })).toEqual({ recorded: true });
    await handle.compact({ text: stale, sequence: 1 });
    const statuses = async () =>
      JSON.parse(
        await store.exportTasks(handle.summary.id),
      ).backlog[0].milestones[0].tasks[0].subtasks.map(
        (subtask: { status: string }) => subtask.status,
      );
    expect(await statuses()).toEqual(['Complete', 'Complete']);
    // Once the holder has loaded the workers' changes, its compaction decides again.
    await handle.load();
    await handle.compact({ text: stale, sequence: 1 });
    expect(await statuses()).toEqual(['Planned', 'Planned']);
    await handle.release();
  });

  it('rejects malformed claims and outcomes with TypeError', async () => {
    const { claims } = await session(makeBacklog([[{}]]));
    await expect(claims.claimNext({ workerId: '', leaseMs: 1 })).rejects.toThrow(TypeError);
    await expect(claims.claimNext({ workerId: 'w', leaseMs: 0 })).rejects.toThrow(TypeError);
    const claim = await claims.claimNext({ workerId: 'w', ...lease });
    await expect(claims.record(claim!, { status: 'Implementing' })).rejects.toThrow(TypeError);
    await expect(
      claims.record({ ...claim!, token: 'nope' }, { status: 'Complete' }),
    ).rejects.toThrow(TypeError);
  });
});

/**
 * Waits until every lease of the session has expired on the database's clock: the server
 * sleeps exactly until the latest expiry, so no guess about clocks or load is involved.
 */
async function waitUntilExpired(store: PostgresStore, url: string, id: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `SELECT pg_sleep(greatest(0, extract(epoch FROM max(lease_expires_at) - clock_timestamp())) + 0.01)
         FROM "${store.schema}".items WHERE session_id = $1 AND lease_owner IS NOT NULL`,
      [id],
    );
  } finally {
    await client.end();
  }
}
