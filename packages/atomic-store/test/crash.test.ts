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
 * One lane: a writer process is started, killed with SIGKILL at a random moment, and the file
 * checked; again and again. Each new writer continues from the sequence number on disk.
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
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.on('exit', (_code, signal) => resolve(signal));
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.on('exit', () => reject(new Error(`writer exited before it was killed: ${stderr}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    report.kills++;

    const value = readWritten(file);
    expect(value.seq).toBeGreaterThanOrEqual(seq);
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
    timeout: 120_000,
  }, async () => {
    const reports = await Promise.all([runLane('async'), runLane('sync'), runLane('json')]);
    const kills = reports.reduce((sum, report) => sum + report.kills, 0);
    expect(kills).toBeGreaterThanOrEqual(200);
    // The kills did land in the middle of writes, not only between them...
    const interrupted = reports.reduce((sum, report) => sum + report.interruptedWrites, 0);
    expect(interrupted).toBeGreaterThanOrEqual(5);
    // ...and the writers made progress between kills.
    for (const report of reports) expect(report.seqs.at(-1)).toBeGreaterThan(10);
  });
});
