import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { freshDir } from './helpers.ts';

const WRITER = fileURLToPath(new URL('./fixtures/strace-writer.mjs', import.meta.url));
const hasStrace =
  process.platform === 'linux' && spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
const title = hasStrace
  ? 'fsyncs the temp file before the rename and the folder after it'
  : 'fsyncs the temp file before the rename and the folder after it (SKIPPED: needs Linux and strace, e.g. apt-get install strace)';

interface Call {
  pid: string;
  name: string;
  text: string;
  start: number;
  end: number;
  result: string;
}

/** Reads `strace -f` output into calls, joining `<unfinished ...>` / `resumed` pairs. */
function parseTrace(output: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, Call>();
  output.split('\n').forEach((line, index) => {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>(.*)$/.exec(line);
    if (resumed) {
      const call = open.get(`${resumed[1]}:${resumed[2]}`);
      if (call === undefined) return;
      open.delete(`${resumed[1]}:${resumed[2]}`);
      call.text += resumed[3];
      call.end = index;
      call.result = /= (-?\d+)/.exec(resumed[3]!)?.[1] ?? '';
      return;
    }
    const started = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
    if (!started) return;
    const call: Call = {
      pid: started[1]!,
      name: started[2]!,
      text: started[3]!,
      start: index,
      end: index,
      result: '',
    };
    if (line.endsWith('<unfinished ...>')) open.set(`${call.pid}:${call.name}`, call);
    else call.result = /\) += (-?\d+)/.exec(line)?.[1] ?? '';
    calls.push(call);
  });
  return calls;
}

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
