import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { sweepTempFiles } from '../src/temp-files.ts';
// @ts-expect-error: a plain ESM fixture shared with the child processes, without types.
import { crashValue } from './fixtures/crash-value.mjs';
import { entries, freshDir } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));
const KILLS_PER_LANE = 70;

interface LaneReport {
  kills: number;
  interruptedWrites: number;
  seqs: number[];
}

/**
 * One lane: a writer process is started, and once it has reported a completed write it is killed
 * with SIGKILL at a random moment after that, and the file checked; again and again. Each new
 * writer continues from the sequence number on disk. Waiting for the report, not for a time, is
 * what makes every writer make progress however busy the machine is.
 */
async function runLane(mode: 'async' | 'sync' | 'json'): Promise<LaneReport> {
  const bundle = inject('atomicStoreBundle');
  const dir = freshDir();
  const file = join(dir, 'tasks.json');
  writeFileSync(file, `${JSON.stringify(crashValue(0), null, 2)}\n`);
  const report: LaneReport = { kills: 0, interruptedWrites: 0, seqs: [] };
  let seq = 0;
  for (let kill = 0; kill < KILLS_PER_LANE; kill++) {
    const child = spawn(process.execPath, [WRITER, bundle, file, mode, String(seq)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // The highest sequence number the writer reported as written (its write call returned).
    let reported = seq;
    let pending = '';
    let onReport = () => {};
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const match = /^wrote (\d+)$/.exec(line);
        if (match) reported = Math.max(reported, Number(match[1]));
      }
      onReport();
    });
    // 'close' comes after the last of stdout has been read, so `reported` is final by then.
    const closed = new Promise<NodeJS.Signals | null>((resolve) => {
      child.on('close', (_code, signal) => resolve(signal));
    });
    await new Promise<void>((resolve, reject) => {
      onReport = () => {
        if (reported > seq) resolve();
      };
      child.on('exit', () => reject(new Error(`writer exited before it was killed: ${stderr}`)));
    });
    // A random moment after the first completed write: during a later write or between two.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    child.kill('SIGKILL');
    expect(await closed).toBe('SIGKILL');
    report.kills++;

    const value = readWritten(file);
    // Every write that returned is on disk; at most the one in progress when killed is beyond.
    expect(value.seq).toBeGreaterThanOrEqual(reported);
    expect(value.seq).toBeLessThanOrEqual(reported + 1);
    if (existsSync(`${file}.bak`)) {
      expect(readWritten(`${file}.bak`).seq).toBeLessThanOrEqual(value.seq);
    }
    // A writer killed mid-write leaves its temp file; it is dead, so the sweep takes it.
    const removed = await sweepTempFiles(dir);
    if (removed.length > 0) report.interruptedWrites++;
    expect(entries(dir).filter((name) => name !== 'tasks.json.bak')).toEqual(['tasks.json']);
    seq = value.seq;
    report.seqs.push(seq);
  }
  return report;
}

/**
 * Parses a file the writer wrote and checks it is, byte for byte, the text of one value written
 * (every mode writes 2-space JSON with a final newline).
 */
function readWritten(path: string): { seq: number } {
  const text = readFileSync(path, 'utf8');
  const value = JSON.parse(text) as { seq: number };
  const expected = `${JSON.stringify(crashValue(value.seq), null, 2)}\n`;
  if (text !== expected) expect.fail(`${path} holds no value that was written (seq ${value.seq})`);
  return value;
}

describe('crash safety under SIGKILL', () => {
  it('leaves a whole old or new file after each of 210 kills at random moments', {
    // 70 node processes started one after another in each lane: minutes on a loaded machine.
    timeout: 600_000,
  }, async () => {
    const reports = await Promise.all([runLane('async'), runLane('sync'), runLane('json')]);
    const kills = reports.reduce((sum, report) => sum + report.kills, 0);
    expect(kills).toBeGreaterThanOrEqual(200);
    // The kills did land in the middle of writes, not only between them...
    const interrupted = reports.reduce((sum, report) => sum + report.interruptedWrites, 0);
    expect(interrupted).toBeGreaterThanOrEqual(5);
    // ...and every writer completed at least one write before it was killed.
    for (const report of reports) {
      expect(report.seqs.every((s, i) => i === 0 || s > report.seqs[i - 1]!)).toBe(true);
      expect(report.seqs.at(-1)).toBeGreaterThanOrEqual(KILLS_PER_LANE);
    }
  });
});
