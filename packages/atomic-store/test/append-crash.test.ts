import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
// @ts-expect-error: a plain ESM fixture shared with the child processes, without types.
import { appendRecord, readRecords } from './fixtures/append-record.mjs';
import { entries, freshDir } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/append-writer.mjs', import.meta.url));
const KILLS_PER_LANE = 55;

type Mode = 'async' | 'pipelined' | 'sync' | 'one-shot';

/** How many appends past the last acknowledged one can be whole on disk. */
const IN_FLIGHT: Record<Mode, number> = { async: 1, pipelined: 4, sync: 1, 'one-shot': 1 };

interface LaneReport {
  kills: number;
  /** Torn tails the writers met: made by hand, or left by a kill (`tornByKill`). */
  tornTails: number;
  tornByKill: number;
  unacknowledgedWhole: number;
  acked: number;
}

interface Records {
  count: number;
  end: number;
  tail: string;
}

/**
 * One lane: a writer is started, killed with SIGKILL once it has acknowledged a random number of
 * appends (so the kill lands wherever the writer happens to be in the next ones), and the file is
 * checked; again and again, each writer continuing the same file.
 */
async function runLane(mode: Mode): Promise<LaneReport> {
  const bundle = inject('atomicStoreBundle');
  const dir = freshDir();
  const file = join(dir, 'journal');
  const report: LaneReport = {
    kills: 0,
    tornTails: 0,
    tornByKill: 0,
    unacknowledgedWhole: 0,
    acked: 0,
  };
  let acked = 0;
  for (let kill = 0; kill < KILLS_PER_LANE; kill++) {
    if (kill % 6 === 5) {
      // Kills rarely land inside a write, so a torn tail is also made by hand now and then: the
      // next writer must cut it before it appends.
      const next = appendRecord(acked + 1) as string;
      appendFileSync(file, next.slice(0, 1 + Math.floor(Math.random() * (next.length - 1))));
      report.tornTails++;
    }
    const child = spawn(process.execPath, [WRITER, bundle, file, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const killAfter = 1 + Math.floor(Math.random() * 12);
    let seenThisRun = 0;
    let pending = '';
    const lines: string[] = [];
    const closed = new Promise<NodeJS.Signals | null>((resolve) => {
      child.on('close', (_code, signal) => resolve(signal));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('ack ') && ++seenThisRun === killAfter) child.kill('SIGKILL');
      }
    });
    const signal = await closed;
    expect(signal, `writer ended on its own: ${stderr}`).toBe('SIGKILL');
    report.kills++;

    // Every line the writer printed before it died has been read by now.
    // The writer found exactly the whole records this test found after the previous kill.
    expect(lines[0]).toBe(`ready ${acked}`);
    for (const line of lines.slice(1)) {
      expect(line).toMatch(/^ack \d+$/);
      const n = Number(line.slice(4));
      expect(n).toBe(acked + 1);
      acked = n;
    }

    const records = readRecords(readFileSync(file, 'latin1')) as Records;
    // Every acknowledged record is whole...
    expect(records.count).toBeGreaterThanOrEqual(acked);
    // ...and nothing is whole beyond what was in flight.
    expect(records.count, `${mode}: whole records past the last ack`).toBeLessThanOrEqual(
      acked + IN_FLIGHT[mode],
    );
    if (records.count > acked) report.unacknowledgedWhole++;
    if (records.tail.length > 0) {
      report.tornTails++;
      report.tornByKill++;
      // A torn tail is the beginning of the next record, never anything else.
      const next = appendRecord(records.count + 1) as string;
      expect(records.tail.length).toBeLessThan(next.length);
      if (!next.startsWith(records.tail)) expect.fail(`${file}: the tail is not a record's start`);
    }
    expect(entries(dir)).toEqual(['journal']);
    // The next writer continues after the whole records: those it did not acknowledge count now.
    acked = Math.max(acked, records.count);
  }
  report.acked = acked;
  return report;
}

describe('durable appends under SIGKILL', () => {
  it('keeps every acknowledged record whole after each of 220 kills at random moments', {
    timeout: 240_000,
  }, async () => {
    const reports = await Promise.all([
      runLane('async'),
      runLane('pipelined'),
      runLane('sync'),
      runLane('one-shot'),
    ]);
    const kills = reports.reduce((sum, report) => sum + report.kills, 0);
    expect(kills).toBeGreaterThanOrEqual(200);
    // The writers made progress between kills.
    for (const report of reports) {
      expect(report.acked).toBeGreaterThan(KILLS_PER_LANE);
      expect(report.tornTails).toBeGreaterThan(0);
    }
    console.info(
      `append crash test: ${kills} kills; torn tails cut ${reports.map((r) => r.tornTails).join('/')} (left by a kill ${reports.map((r) => r.tornByKill).join('/')}), unacknowledged whole records ${reports.map((r) => r.unacknowledgedWhole).join('/')} (async/pipelined/sync/one-shot)`,
    );
  });
});
