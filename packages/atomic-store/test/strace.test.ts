import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { freshDir, parseTrace } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/strace-writer.mjs', import.meta.url));
const hasStrace =
  process.platform === 'linux' && spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
const title = hasStrace
  ? 'fsyncs the temp file before the rename and the folder after it'
  : 'fsyncs the temp file before the rename and the folder after it (SKIPPED: needs Linux and strace, e.g. apt-get install strace)';

describe('syscall order (Linux, strace)', () => {
  it.skipIf(!hasStrace)(title, { timeout: 60_000 }, () => {
    const dir = realpathSync(freshDir());
    writeFileSync(join(dir, 'async.json'), '{"written": "before"}\n');
    writeFileSync(join(dir, 'sync.json'), '{"written": "before"}\n');
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
        'trace=open,openat,write,pwrite64,fsync,fdatasync,rename,renameat,renameat2,close',
        process.execPath,
        WRITER,
        inject('atomicStoreBundle'),
        dir,
      ],
      { encoding: 'utf8' },
    );
    expect(traced.status, traced.stderr).toBe(0);
    const calls = parseTrace(readFileSync(log, 'utf8'));

    for (const target of ['async.json', 'sync.json', 'fresh.json']) {
      const renames = calls.filter(
        (call) =>
          call.name.startsWith('rename') &&
          call.text.includes(`${dir}/.${target}.`) &&
          call.text.includes(`"${dir}/${target}"`),
      );
      expect(renames, `one rename into ${target}`).toHaveLength(1);
      const rename = renames[0]!;
      expect(rename.result).toBe('0');
      const temp = /"([^"]+\.tmp)"/.exec(rename.text)![1]!;

      const opened = calls.find(
        (call) => call.name.startsWith('open') && call.text.includes(`"${temp}"`),
      );
      expect(opened?.text).toMatch(/O_CREAT/);
      expect(opened?.text).toMatch(/O_EXCL/);

      const fsyncs = calls.filter(
        (call) =>
          /^f(data)?sync$/.test(call.name) &&
          call.text.startsWith(`${/^\d+/.exec(call.text)?.[0] ?? ''}<${temp}>`),
      );
      expect(fsyncs, `fsync of ${temp}`).toHaveLength(1);
      expect(fsyncs[0]!.result).toBe('0');
      expect(fsyncs[0]!.end).toBeLessThan(rename.start);
      const writesAfterFsync = calls.filter(
        (call) =>
          /write/.test(call.name) &&
          call.text.includes(`<${temp}>`) &&
          call.start > fsyncs[0]!.start,
      );
      expect(writesAfterFsync).toEqual([]);

      const folderFsync = calls.find(
        (call) =>
          /^f(data)?sync$/.test(call.name) &&
          call.text.includes(`<${dir}>`) &&
          call.start > rename.end,
      );
      expect(folderFsync, `folder fsync after the rename of ${target}`).toBeDefined();
      expect(folderFsync!.result).toBe('0');
    }
  });
});
