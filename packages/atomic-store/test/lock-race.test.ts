import { type ChildProcess, fork } from 'node:child_process';
import { utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readLockHolder } from '../src/lock.ts';
import { entries, freshDir } from './helpers.ts';

const CONTENDER = fileURLToPath(new URL('./fixtures/lock-contender.mjs', import.meta.url));
const CONTENDERS = 6;
const ROUNDS = 120;
/** Above Linux's largest possible pid_max (2^22), so no process can have it. */
const DEAD_PID = 4_194_305;

interface Reply {
  round: number;
  won: boolean;
  token?: string;
  code?: string;
  message?: string;
}

let workers: ChildProcess[] = [];
const pending = new Map<number, { replies: Reply[]; done: (replies: Reply[]) => void }>();

beforeAll(async () => {
  const bundle = inject('atomicStoreBundle');
  workers = Array.from({ length: CONTENDERS }, () =>
    fork(CONTENDER, [bundle], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
  );
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          worker.once('message', () => resolve());
        }),
    ),
  );
  for (const worker of workers) {
    worker.on('message', (reply: Reply) => {
      const round = pending.get(reply.round);
      if (round === undefined) return;
      round.replies.push(reply);
      if (round.replies.length === CONTENDERS) round.done(round.replies);
    });
  }
});

afterAll(() => {
  for (const worker of workers) worker.kill('SIGKILL');
});

describe('stale lock takeover across processes', () => {
  it(`lets exactly one of ${CONTENDERS} processes win, in each of ${ROUNDS} rounds`, {
    timeout: 120_000,
  }, async () => {
    const dir = freshDir();
    const path = join(dir, 'run.lock');
    for (let round = 0; round < ROUNDS; round++) {
      // Even rounds: the holder died. Odd rounds: the holder lives but stopped refreshing.
      const stale = {
        pid: round % 2 === 0 ? DEAD_PID : process.pid,
        hostname: hostname(),
        startedAt: new Date().toISOString(),
        token: `stale-${round}`,
      };
      writeFileSync(path, JSON.stringify(stale));
      if (round % 2 === 1) {
        const past = new Date(Date.now() - 60_000);
        utimesSync(path, past, past);
      }
      const replies = await new Promise<Reply[]>((done) => {
        pending.set(round, { replies: [], done });
        for (const worker of workers) {
          worker.send({ type: 'acquire', round, path, staleMs: 10_000 });
        }
      });
      pending.delete(round);

      const winners = replies.filter((reply) => reply.won);
      expect(winners, `round ${round}: ${JSON.stringify(replies)}`).toHaveLength(1);
      expect(replies.filter((reply) => !reply.won).map((reply) => reply.code)).toEqual(
        Array(CONTENDERS - 1).fill('LOCKED'),
      );
      expect((await readLockHolder(path))?.token).toBe(winners[0]!.token);
      // No guard or temp file is left behind.
      expect(entries(dir)).toEqual(['run.lock']);
    }
  });
});
