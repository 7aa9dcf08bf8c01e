import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  makePrd,
  readLines,
  readTasks,
  runCli,
  sessionDirs,
  startCli,
  subtasks,
  tempDir,
} from './helpers.ts';

const KILLS = 50;
/** No round lets more subtasks start than this: 50 rounds cannot get through all 300. */
const MAX_STARTS = 3;

describe('kill -9 at random moments', () => {
  it(`loses nothing that was saved across ${KILLS} SIGKILLs and never re-runs a Complete subtask`, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const prd = join(dir, 'prd.md');
      const log = join(dir, 'worker.log');
      const plan = join(dir, 'plan');
      writeFileSync(prd, makePrd(10, 30));
      const worker = `echo "$SAVEPOINT_ITEM_ID" >> "${log}"; sleep 0.03`;
      const args = ['run', prd, '--plan-dir', plan, '--exec', worker, '--progress', 'never'];

      // For every kill: which subtasks tasks.json held as Complete, and how long the log was then.
      const checkpoints: Array<{ complete: Set<string>; logLength: number }> = [];
      let kills = 0;
      let previous = new Set<string>();
      for (let round = 0; kills < KILLS && round < KILLS * 3; round++) {
        const run = startCli(args, dir);
        // Half the kills land at a random instant (start-up, session load, a write); the rest
        // shortly after a subtask starts. Either way a round is cut short once MAX_STARTS
        // subtasks have started, so the run cannot finish before every kill is spent, however
        // fast the machine; a slow machine only kills earlier in each round.
        const linesAtStart = readLines(log).length;
        const atRandom = Math.random() < 0.5;
        const kill = () => run.child.kill('SIGKILL');
        const timers: NodeJS.Timeout[] = [];
        if (atRandom) timers.push(setTimeout(kill, 20 + Math.random() * 400));
        const watch = setInterval(() => {
          const started = readLines(log).length - linesAtStart;
          if (started >= MAX_STARTS) {
            clearInterval(watch);
            kill();
          } else if (!atRandom && started >= 1) {
            clearInterval(watch);
            timers.push(setTimeout(kill, Math.random() * 60));
          }
        }, 5);
        const result = await run.result;
        clearInterval(watch);
        for (const timer of timers) clearTimeout(timer);
        if (result.signal !== 'SIGKILL') {
          expect(result.code, result.stderr).toBe(0);
          break;
        }
        kills += 1;
        const [session] = sessionDirs(plan);
        if (!session) continue;
        // Must parse after every kill: never a torn or empty file.
        const tasks = readTasks(session);
        const complete = new Set(
          subtasks(tasks)
            .filter((s) => s.status === 'Complete')
            .map((s) => s.id),
        );
        for (const id of previous)
          expect(complete.has(id), `${id} lost its Complete status`).toBe(true);
        previous = complete;
        checkpoints.push({ complete, logLength: readLines(log).length });
      }
      expect(kills).toBeGreaterThanOrEqual(KILLS);
      // The kills fell while work remained, not after the run had finished.
      expect(previous.size).toBeLessThan(300);

      const final = await runCli(args, dir);
      expect(final.code, final.stderr).toBe(0);
      expect(sessionDirs(plan)).toHaveLength(1);
      const all = subtasks(readTasks(sessionDirs(plan)[0]!));
      expect(all).toHaveLength(300);
      expect(all.every((s) => s.status === 'Complete')).toBe(true);

      const lines = readLines(log);
      expect(new Set(lines).size).toBe(300);
      for (const { complete, logLength } of checkpoints) {
        const later = lines.slice(logLength);
        for (const id of later) {
          expect(complete.has(id), `${id} was Complete at a kill and ran again`).toBe(false);
        }
      }
    } finally {
      cleanup();
    }
  }, 300_000);
});
