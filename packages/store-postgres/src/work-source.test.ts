import { describe, expect, it } from 'vitest';
import type { PostgresClaim, PostgresClaims } from './claims.ts';
import { createWorkSource } from './work-source.ts';

/** Claims of a one-subtask session that count the heartbeats; no database needed. */
function fakeClaims() {
  const calls = { renew: 0, releaseAll: 0 };
  const claim = {
    itemId: 'P1.M1.T1.S1',
    token: '00000000-0000-4000-8000-000000000000',
    expiresAt: new Date(Date.now() + 60_000),
    attempt: 1,
    item: { id: 'P1.M1.T1.S1' },
  } as unknown as PostgresClaim;
  const claims = {
    async claimNext() {
      return claim;
    },
    async renew() {
      calls.renew += 1;
      return { expiresAt: new Date(Date.now() + 60_000) };
    },
    async releaseAll() {
      calls.releaseAll += 1;
    },
  } as unknown as PostgresClaims;
  return { claims, calls };
}

describe('createWorkSource heartbeats', () => {
  it('renews every third of the lease', async () => {
    const { claims, calls } = fakeClaims();
    const source = createWorkSource(claims, { workerId: 'w', leaseMs: 60 });
    await source.claim();
    // Waits for the first heartbeat (every 20 ms); after releaseAll there is none.
    while (calls.renew === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    await source.releaseAll();
    const renewed = calls.renew;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls.renew).toBe(renewed);
  });

  it('does not renew every millisecond when a third of the lease is more than a timer holds', async () => {
    // setInterval with more than 2 ** 31 - 1 ms fires every millisecond.
    const { claims, calls } = fakeClaims();
    const source = createWorkSource(claims, { workerId: 'w', leaseMs: 7_000_000_000 });
    await source.claim();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await source.releaseAll();
    expect(calls.renew).toBe(0);
    expect(calls.releaseAll).toBe(1);
  });
});
