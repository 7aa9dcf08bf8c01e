import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { freshDir, parseTrace } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/append-strace-writer.mjs', import.meta.url));
const hasStrace =
  process.platform === 'linux' && spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
const title = hasStrace
  ? 'writes every byte, then fdatasyncs, before an append returns'
  : 'writes every byte, then fdatasyncs, before an append returns (SKIPPED: needs Linux and strace, e.g. apt-get install strace)';

/** The records the writer appends, in order, with their lengths in bytes. */
const RECORDS = [
  ['first', 5007],
  ['second', 5008],
  ['third', 5007],
  ['fourth', 5008],
  ['fifth', 5007],
] as const;

describe('append syscall order (Linux, strace)', () => {
  it.skipIf(!hasStrace)(title, { timeout: 60_000 }, () => {
    const dir = realpathSync(freshDir());
    const journal = join(dir, 'journal');
    const log = join(dir, 'trace.log');
    const traced = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-qq',
        '-o',
        log,
        '-e',
        'trace=open,openat,write,pwrite64,writev,pwritev,fsync,fdatasync,close',
        process.execPath,
        WRITER,
        inject('atomicStoreBundle'),
        dir,
      ],
      { encoding: 'utf8' },
    );
    expect(traced.status, traced.stderr).toBe(0);
    const calls = parseTrace(readFileSync(log, 'utf8'));
    const onJournal = (call: { text: string }) => call.text.includes(`<${journal}>`);

    // Creating the file: the folder is fsynced before anything is written to it.
    const created = calls.find(
      (call) =>
        call.name.startsWith('open') && call.text.includes('O_EXCL') && call.result !== '-1',
    );
    expect(created?.text).toContain(`"${journal}"`);
    const folderFsync = calls.find(
      (call) =>
        call.name === 'fsync' && call.text.startsWith(`${/^\d+/.exec(call.text)?.[0]}<${dir}>`),
    );
    expect(folderFsync?.result).toBe('0');
    expect(folderFsync!.start).toBeGreaterThan(created!.end);

    let offset = 0;
    let after = folderFsync!.end;
    RECORDS.forEach(([word, length], index) => {
      const marker = calls.find(
        (call) => call.name === 'write' && call.text.includes(`"resolved ${index + 1}\\n"`),
      );
      expect(marker, `the writer reported append ${index + 1}`).toBeDefined();
      const writes = calls.filter(
        (call) =>
          /write/.test(call.name) &&
          onJournal(call) &&
          call.start > after &&
          call.end < marker!.start,
      );
      // One positional write of every byte at the end of the file: nothing else touches it.
      expect(writes, `writes of the ${word} record`).toHaveLength(1);
      expect(writes[0]!.name).toBe('pwrite64');
      expect(writes[0]!.text).toContain(`"${word} `);
      expect(writes[0]!.text).toMatch(new RegExp(`, ${length}, ${offset}\\)`));
      expect(writes[0]!.result).toBe(String(length));
      const syncs = calls.filter(
        (call) =>
          /^f(data)?sync$/.test(call.name) &&
          onJournal(call) &&
          call.start > writes[0]!.end &&
          call.end < marker!.start,
      );
      expect(syncs, `fdatasync of the ${word} record before the call returned`).toHaveLength(1);
      expect(syncs[0]!.result).toBe('0');
      offset += length;
      after = marker!.end;
    });
  });
});
