import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOKEN_VARIABLE } from './internal/proc.ts';
import { GROUPS_FILE, ProcessGroups, reapWorkDir } from './internal/process-groups.ts';

const children: ChildProcess[] = [];
let dirs: string[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {}
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

function sessionDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'runner-groups-'));
  dirs.push(dir);
  return dir;
}

/** A sleeping process group of its own, optionally carrying a run token. */
function sleeper(token?: string): ChildProcess & { pid: number } {
  const child = spawn('/bin/sh', ['-c', 'sleep 60 & wait'], {
    detached: true,
    stdio: 'ignore',
    env:
      token === undefined
        ? { PATH: process.env.PATH }
        : { PATH: process.env.PATH, [TOKEN_VARIABLE]: token },
  });
  children.push(child);
  return child as ChildProcess & { pid: number };
}

function startTime(pid: number): string {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[19]!;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** SIGKILL is sure but dying takes a moment: wait for the process to be gone (or a zombie). */
async function waitGone(pid: number): Promise<void> {
  while (alive(pid)) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function settle(): Promise<void> {
  // Give the sleepers time to exec, so their environment and stat are readable.
  await new Promise((resolve) => setTimeout(resolve, 150));
}

describe('ProcessGroups: what a killed run left', () => {
  it('ends a recorded group that carries the token and has the recorded start time', async () => {
    const dir = sessionDir();
    const ours = sleeper('t0ken');
    await settle();
    writeFileSync(
      join(dir, GROUPS_FILE),
      JSON.stringify({
        token: 't0ken',
        runnerPid: 1,
        groups: [{ pgid: ours.pid, startTime: startTime(ours.pid), item: 'P1' }],
      }),
    );
    const groups = new ProcessGroups(dir);
    expect(await groups.open()).toBeGreaterThanOrEqual(1);
    // open() waits until no process with the token is left.
    expect(alive(ours.pid)).toBe(false);
    await groups.close();
    expect(existsSync(join(dir, GROUPS_FILE))).toBe(false);
  });

  it('never ends a process that only has a recorded pid: another start time or no token', async () => {
    const dir = sessionDir();
    const stranger = sleeper();
    const reused = sleeper('other-run');
    await settle();
    writeFileSync(
      join(dir, GROUPS_FILE),
      JSON.stringify({
        token: 't0ken',
        runnerPid: 1,
        groups: [
          // Same pid and start time, but not started by that run (no token): a reused pid.
          { pgid: stranger.pid, startTime: startTime(stranger.pid), item: 'P1' },
          // Right pid, wrong start time.
          { pgid: reused.pid, startTime: '1', item: 'P2' },
        ],
      }),
    );
    const groups = new ProcessGroups(dir);
    expect(await groups.open()).toBe(0);
    expect(alive(stranger.pid)).toBe(true);
    expect(alive(reused.pid)).toBe(true);
    await groups.close();
  });

  it('reads the groups appended after the header, skipping a line torn by a kill', async () => {
    const dir = sessionDir();
    const first = new ProcessGroups(dir);
    await first.open();
    // The shell carries the token; its child clears its environment, so only the group record
    // (not a search for the token) can find the child.
    const ours = spawn('/bin/sh', ['-c', 'env -i sleep 60 & echo $!; wait'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH, [TOKEN_VARIABLE]: first.token },
    }) as ChildProcess & { pid: number };
    children.push(ours);
    const child = Number(
      await new Promise<string>((resolve) => ours.stdout!.once('data', resolve)),
    );
    await settle();
    first.add(ours.pid, 'P1');
    // The runner dies here (no close); a kill in the middle of a later append tore its line.
    writeFileSync(join(dir, GROUPS_FILE), '{"pgid":12', { flag: 'a' });
    const text = readFileSync(join(dir, GROUPS_FILE), 'utf8');
    expect(text.split('\n')[1]).toContain(`"pgid":${ours.pid}`);
    const next = new ProcessGroups(dir);
    expect(await next.open()).toBeGreaterThanOrEqual(1);
    expect(alive(ours.pid)).toBe(false);
    await waitGone(child);
    await next.close();
  });

  it('reapWorkDir ends what a gone runner of a folder left and removes its record', async () => {
    const dir = sessionDir();
    const ours = sleeper('r3ap');
    const stranger = sleeper();
    await settle();
    writeFileSync(
      join(dir, GROUPS_FILE),
      JSON.stringify({
        token: 'r3ap',
        runnerPid: 1,
        groups: [
          { pgid: ours.pid, startTime: startTime(ours.pid), item: 'P1' },
          { pgid: stranger.pid, startTime: startTime(stranger.pid), item: 'P2' },
        ],
      }),
    );
    expect(await reapWorkDir(dir)).toBeGreaterThanOrEqual(1);
    expect(alive(ours.pid)).toBe(false);
    expect(alive(stranger.pid)).toBe(true);
    expect(existsSync(join(dir, GROUPS_FILE))).toBe(false);
    expect(await reapWorkDir(dir)).toBe(0);
  });
});
