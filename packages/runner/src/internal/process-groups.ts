import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '@savepoint/atomic-store';
import { RunnerError } from '../errors.ts';
import {
  carriesToken,
  processesWithToken,
  processInfo,
  signalGroup,
  signalProcess,
} from './proc.ts';

/** The session file that records the process groups of the workers in flight. */
export const GROUPS_FILE = 'workers.json';

interface GroupRecord {
  pgid: number;
  /** Start time of the group leader, from /proc: a reused pid has another one. */
  startTime: string;
  item: string;
}

interface GroupsFile {
  /** Every process this run starts carries the token in its environment. */
  token: string;
  runnerPid: number;
  groups: GroupRecord[];
}

/** Appended records after which the file is rewritten with only the groups still in flight. */
const COMPACT_AFTER = 256;

/**
 * The durable record of the process groups a runner has in flight. The token is written before
 * the first worker starts, so even a process that left its group, or started in the instant
 * before its group was recorded, can be found by a later run after a `kill -9`.
 *
 * The file is a JSON header line (`{ token, runnerPid, groups }`) followed by one JSON line per
 * group started since, appended with a single `write` right after the spawn, synchronously, so
 * it is in the file before the event loop runs anything else. A group that ended is not written
 * out: a stale line is harmless, since a later run only ends a recorded group whose leader is
 * alive with the recorded start time and the token (a reused pid has another start time). Every
 * {@link COMPACT_AFTER} appends the file is rewritten (atomically) with the live groups only.
 * Nothing is fsynced: the record only has to survive the runner's own death, which the page cache
 * does; after a power cut every process it lists is gone anyway.
 */
export class ProcessGroups {
  readonly token = randomBytes(12).toString('hex');
  readonly #file: string;
  readonly #groups = new Map<number, GroupRecord>();
  #fd: number | undefined;
  #appended = 0;
  #error: unknown;

  constructor(sessionDir: string) {
    this.#file = join(sessionDir, GROUPS_FILE);
  }

  /**
   * Ends whatever an earlier run recorded that is still alive (and really is its: same start
   * time and token), then records this run's token. Returns how many processes were ended.
   */
  async open(): Promise<number> {
    const reaped = await reapEarlierRun(this.#file);
    try {
      await writeFileAtomic(this.#file, this.#text(), { durability: 'none' });
      this.#fd = openSync(this.#file, 'a');
    } catch (cause) {
      throw this.#ioError(cause);
    }
    return reaped;
  }

  add(pgid: number, item: string): void {
    const info = processInfo(pgid);
    const record: GroupRecord = { pgid, item, startTime: info?.startTime ?? '' };
    this.#groups.set(pgid, record);
    if (this.#fd === undefined || this.#error !== undefined) return;
    try {
      if (this.#appended >= COMPACT_AFTER) this.#compact();
      else {
        writeSync(this.#fd, `${JSON.stringify(record)}\n`);
        this.#appended += 1;
      }
    } catch (cause) {
      this.#error = this.#ioError(cause);
    }
  }

  delete(pgid: number): void {
    // Only in memory: see the class comment for why the file need not say it.
    this.#groups.delete(pgid);
  }

  /** SIGKILLs every recorded group and every process with the token, synchronously. */
  killAllSync(): void {
    for (const pgid of this.#groups.keys()) signalGroup(pgid, 'SIGKILL');
    for (const pid of processesWithToken(this.token)) signalProcess(pid, 'SIGKILL');
    this.#groups.clear();
    try {
      this.#compact();
    } catch {
      // The process is about to exit; the token already on disk lets the next run finish the job.
    }
  }

  /**
   * Ends processes with this run's token that escaped their group (a `setsid` grandchild) and
   * removes the record: nothing of this run is left to end.
   */
  async close(): Promise<void> {
    await endProcesses(processesWithToken(this.token), this.token);
    if (this.#fd !== undefined) {
      closeSync(this.#fd);
      this.#fd = undefined;
    }
    if (this.#groups.size === 0) rmSync(this.#file, { force: true });
    if (this.#error) throw this.#error;
  }

  /** Rewrites the file with the live groups only and appends to the new one from then on. */
  #compact(): void {
    writeFileAtomicSync(this.#file, this.#text(), { durability: 'none' });
    const fd = openSync(this.#file, 'a');
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = fd;
    this.#appended = 0;
  }

  #ioError(cause: unknown): RunnerError {
    return new RunnerError('IO', `cannot record worker processes in ${this.#file}`, {
      path: this.#file,
      cause,
    });
  }

  #text(): string {
    const data: GroupsFile = {
      token: this.token,
      runnerPid: process.pid,
      groups: [...this.#groups.values()],
    };
    return `${JSON.stringify(data)}\n`;
  }
}

/** Reads the header and the appended group lines; a torn last line (a kill mid-write) is skipped. */
function readRecord(file: string): GroupsFile | undefined {
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  let data: GroupsFile;
  try {
    data = JSON.parse(lines[0]!) as GroupsFile;
  } catch {
    return undefined;
  }
  if (typeof data?.token !== 'string' || !Array.isArray(data.groups)) return undefined;
  const groups = [...data.groups];
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    try {
      const group = JSON.parse(line) as GroupRecord;
      if (Number.isSafeInteger(group?.pgid) && group.pgid > 0) groups.push(group);
    } catch {
      // Torn by a kill during the write: that group's processes still carry the token.
    }
  }
  return { ...data, groups };
}

async function reapEarlierRun(file: string): Promise<number> {
  const data = readRecord(file);
  if (data === undefined) return 0;
  const victims = new Set<number>();
  for (const group of data.groups) {
    const info = processInfo(group.pgid);
    // A leader with another start time is a different process that got the same pid.
    if (
      info &&
      !info.zombie &&
      info.startTime === group.startTime &&
      carriesToken(group.pgid, data.token)
    ) {
      victims.add(group.pgid);
    }
  }
  for (const pgid of victims) signalGroup(pgid, 'SIGKILL');
  const stray = processesWithToken(data.token);
  await endProcesses(stray, data.token);
  return new Set([...victims, ...stray]).size;
}

/**
 * Ends what the runner of `dir` (its `workDir` or session folder) left running, as a new runner of
 * that folder would, and removes its record: for a process that cleans up after a killed runner
 * whose folder will not be used again. Call it only when that runner is gone.
 *
 * @returns how many processes were ended
 */
export async function reapWorkDir(dir: string): Promise<number> {
  const file = join(dir, GROUPS_FILE);
  const reaped = await reapEarlierRun(file);
  rmSync(file, { force: true });
  return reaped;
}

/** SIGKILLs the processes and waits (briefly) until none carrying the token is alive. */
async function endProcesses(pids: number[], token: string): Promise<void> {
  if (pids.length === 0) return;
  for (const pid of pids) signalProcess(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    const left = processesWithToken(token);
    if (left.length === 0) return;
    for (const pid of left) signalProcess(pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
