import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** The environment variable that marks every process a runner starts, with the run's token. */
export const TOKEN_VARIABLE = 'SAVEPOINT_RUN_TOKEN';

/**
 * The start time of a process (clock ticks after boot, field 22 of `/proc/<pid>/stat`) and
 * whether it is a zombie, or `undefined` when the process does not exist (or there is no /proc).
 */
export function processInfo(pid: number): { startTime: string; zombie: boolean } | undefined {
  const text = readProcFile(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the
  // last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { startTime: fields[19] ?? '', zombie: fields[0] === 'Z' };
}

/** Whether the process was started with `SAVEPOINT_RUN_TOKEN=<token>` in its environment. */
export function carriesToken(pid: number, token: string): boolean {
  return environHas(pid, tokenEntry(token));
}

/** Live (not zombie) processes whose environment carries the token, except this process. */
export function processesWithToken(token: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const entry = tokenEntry(token);
  const found: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (!environHas(pid, entry)) continue;
    const info = processInfo(pid);
    if (info && !info.zombie) found.push(pid);
  }
  return found;
}

/** The token's variable as it appears in `/proc/<pid>/environ`. */
function tokenEntry(token: string): Buffer {
  return Buffer.from(`${TOKEN_VARIABLE}=${token}`, 'latin1');
}

/** Where /proc files are read; shared, since every read is synchronous. */
const BUFFER_BYTES = 16 * 1024;
let buffer = Buffer.allocUnsafe(BUFFER_BYTES);

/**
 * Reads a /proc file into {@link buffer} (grown when too small) and returns its length, or
 * `undefined` when it cannot be read. `untilNewline`: the file is one line that the kernel hands
 * over in one read, so a read that ends the line is the last (`readFileSync` would also `fstat`
 * and read once more to see the end; this runs for every worker started).
 */
function readProc(path: string, untilNewline: boolean): number | undefined {
  let length = 0;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    for (;;) {
      if (length === buffer.length) {
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (untilNewline && buffer[length - 1] === 0x0a) break;
    }
    return length;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readProcFile(path: string): string | undefined {
  const length = readProc(path, true);
  return length === undefined ? undefined : buffer.toString('utf8', 0, length);
}

/**
 * Whether `/proc/<pid>/environ` holds `entry` as a whole variable. The bytes are searched where
 * they were read: a run ends with a look at every process on the machine, and decoding and
 * splitting each environment into strings cost more than reading it.
 */
function environHas(pid: number, entry: Buffer): boolean {
  const length = readProc(`/proc/${pid}/environ`, false);
  if (length === undefined) return false;
  const data = buffer.subarray(0, length);
  let found = false;
  // Only a whole variable counts: NUL (or the start) before it, NUL (or the end) after it.
  for (let at = data.indexOf(entry); at !== -1 && !found; at = data.indexOf(entry, at + 1)) {
    const end = at + entry.length;
    found = (at === 0 || data[at - 1] === 0) && (end === length || data[end] === 0);
  }
  // A huge environment seen once is not kept for the life of the process.
  if (buffer.length > BUFFER_BYTES * 4) buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  return found;
}

/** Sends a signal to a process group; `false` when no process is left in it. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: the group exists but holds a process we may not signal; it is not ours to end.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Sends a signal to one process, ignoring a process that is already gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Gone already.
  }
}

/**
 * Whether a process group has a member that is alive and not a zombie. `kill(-pgid, 0)` also
 * succeeds for zombies nobody has reaped yet (in a container whose first process does not reap),
 * which would make a finished group look alive.
 */
export function groupIsAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const text = readProcFile(`/proc/${entry}/stat`);
    if (text === undefined) continue;
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z') return true;
  }
  return false;
}
