import { readdirSync, readFileSync } from 'node:fs';

/** The environment variable that marks every process a runner starts, with the run's token. */
export const TOKEN_VARIABLE = 'SAVEPOINT_RUN_TOKEN';

/**
 * The start time of a process (clock ticks after boot, field 22 of `/proc/<pid>/stat`) and
 * whether it is a zombie, or `undefined` when the process does not exist (or there is no /proc).
 */
export function processInfo(pid: number): { startTime: string; zombie: boolean } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the
  // last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { startTime: fields[19] ?? '', zombie: fields[0] === 'Z' };
}

/** Whether the process was started with `SAVEPOINT_RUN_TOKEN=<token>` in its environment. */
export function carriesToken(pid: number, token: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`)
      .toString('latin1')
      .split('\0')
      .includes(`${TOKEN_VARIABLE}=${token}`);
  } catch {
    return false;
  }
}

/** Live (not zombie) processes whose environment carries the token, except this process. */
export function processesWithToken(token: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    if (!carriesToken(pid, token)) continue;
    const info = processInfo(pid);
    if (info && !info.zombie) found.push(pid);
  }
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
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z') return true;
  }
  return false;
}
