import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
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

/**
 * The durable record of the process groups a runner has in flight. The token is written before
 * the first worker starts, so even a process that left its group, or started in the instant
 * before its group was recorded, can be found by a later run after a `kill -9`.
 */
export class ProcessGroups {
  readonly token = randomBytes(12).toString('hex');
  readonly #file: string;
  readonly #groups = new Map<number, GroupRecord>();
  #writing: Promise<void> | undefined;
  #dirty = false;
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
    await this.#write();
    return reaped;
  }

  add(pgid: number, item: string): void {
    const info = processInfo(pgid);
    this.#groups.set(pgid, { pgid, item, startTime: info?.startTime ?? '' });
    this.#schedule();
  }

  delete(pgid: number): void {
    if (this.#groups.delete(pgid)) this.#schedule();
  }

  /** SIGKILLs every recorded group and every process with the token, synchronously. */
  killAllSync(): void {
    for (const pgid of this.#groups.keys()) signalGroup(pgid, 'SIGKILL');
    for (const pid of processesWithToken(this.token)) signalProcess(pid, 'SIGKILL');
    this.#groups.clear();
    try {
      writeFileAtomicSync(this.#file, this.#text(), { durability: 'none' });
    } catch {
      // The process is about to exit; the token already on disk lets the next run finish the job.
    }
  }

  /**
   * Ends processes with this run's token that escaped their group (a `setsid` grandchild), waits
   * for pending writes and removes the record: nothing of this run is left to end.
   */
  async close(): Promise<void> {
    await endProcesses(processesWithToken(this.token), this.token);
    while (this.#writing) await this.#writing;
    if (this.#groups.size === 0) rmSync(this.#file, { force: true });
    if (this.#error) throw this.#error;
  }

  #schedule(): void {
    if (this.#writing) {
      this.#dirty = true;
      return;
    }
    this.#writing = this.#write()
      .catch((error) => {
        this.#error ??= error;
      })
      .finally(() => {
        this.#writing = undefined;
        if (this.#dirty) {
          this.#dirty = false;
          this.#schedule();
        }
      });
  }

  async #write(): Promise<void> {
    try {
      // Atomic but not fsynced: the record only has to survive the runner's own death. After a
      // power cut every process it lists is gone anyway.
      await writeFileAtomic(this.#file, this.#text(), { durability: 'none' });
    } catch (cause) {
      throw new RunnerError('IO', `cannot record worker processes in ${this.#file}`, {
        path: this.#file,
        cause,
      });
    }
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

async function reapEarlierRun(file: string): Promise<number> {
  let data: GroupsFile;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as GroupsFile;
  } catch {
    return 0;
  }
  if (typeof data?.token !== 'string' || !Array.isArray(data.groups)) return 0;
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
