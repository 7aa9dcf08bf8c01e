import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, createWorkSource, type PostgresStore } from '../src/index.ts';
import { describePg, freshHash, freshSchema, makeBacklog, useDatabase } from './helpers.ts';

describePg('createWorkSource', () => {
  const database = useDatabase();
  let store: PostgresStore;
  beforeAll(() => {
    store = createPostgresStore({ connectionString: database.url, schema: freshSchema('source') });
  });
  afterAll(async () => {
    await store.close();
  });

  async function join(tasksText: string) {
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

  it('waits while another worker holds what blocks it, then ends when nothing is left', async () => {
    const { id, claims } = await join(makeBacklog([[{}, { dependencies: ['P1.M1.T1.S1'] }]]));
    const other = await claims.claimNext({ workerId: 'other', leaseMs: 30_000 });
    const source = createWorkSource(await store.join(id), { workerId: 'me' });
    const next = source.claim();
    let settled = false;
    void next.then(() => {
      settled = true;
    });
    // The source waits: its subtask is blocked by one the other worker holds. (Only a pause can
    // show that nothing happens; 200 ms is long enough for a wrong answer to show.)
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    await claims.record(other!, { status: 'Complete' });
    const got = await next;
    expect(got?.id).toBe('P1.M1.T1.S2');
    await source.mark('P1.M1.T1.S2', 'Retrying');
    expect(await source.release('P1.M1.T1.S2', 'Complete')).toBe(true);
    expect(await source.claim()).toBeUndefined();
  });

  it('ends at once when what is left waits behind a Failed subtask', async () => {
    const { claims } = await join(
      makeBacklog([[{ status: 'Failed' }, { dependencies: ['P1.M1.T1.S1'] }]]),
    );
    const source = createWorkSource(claims, { workerId: 'me' });
    expect(await source.claim()).toBeUndefined();
  });

  it('tells the caller when a heartbeat finds a lease lost, and refuses that outcome', async () => {
    const { claims } = await join(makeBacklog([[{}]]));
    const lost: string[] = [];
    let told: () => void = () => {};
    const toldOnce = new Promise<void>((resolve) => {
      told = resolve;
    });
    const source = createWorkSource(claims, {
      workerId: 'me',
      leaseMs: 300,
      onLost: (id) => {
        lost.push(id);
        told();
      },
    });
    const item = await source.claim();
    // Another worker gives the lease back behind this source's back (as an expiry would).
    await claims.releaseAll(['me']);
    await toldOnce;
    expect(lost).toEqual([item!.id]);
    expect(await source.release(item!.id, 'Complete')).toBe(false);
  });

  it('gives its subtasks back: Planned at once, or lost when its lease went elsewhere', async () => {
    const { claims } = await join(makeBacklog([[{}, {}]]));
    const source = createWorkSource(claims, { workerId: 'me' });
    const first = await source.claim();
    expect(await source.release(first!.id, 'Planned')).toBe(true);
    const again = await source.claim();
    expect(again?.id).toBe(first!.id);
    await source.claim();
    await source.releaseAll();
    expect((await claims.countByStatus()).Planned).toBe(2);
    expect(() => createWorkSource(claims, { workerId: '' })).toThrow(TypeError);
  });
});
